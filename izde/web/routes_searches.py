"""Retrospective searches of recorded footage: start one on the server's archive, follow it, stop it, read its
sightings. The archive is a folder on the server (or a manifest there), read under the camera source policy."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request

from izde.archive.threads import SearchThreads
from izde.governance.roles import Action
from izde.web.deps import Service
from izde.web.schemas import SearchIn, SearchOut, SightingOut

router = APIRouter(prefix="/api/v1", tags=["searches"])


def _threads(request: Request) -> SearchThreads:
    threads: SearchThreads = request.app.state.searches
    return threads


@router.post("/searches", response_model=SearchOut, status_code=202)
def start_search(body: SearchIn, service: Service, request: Request) -> SearchOut:
    """Plan a search and start it on the server (operator). Refusals (no right, footage outside the
    authorisation's cameras or window, a folder outside the media folders) are answered here; the search then
    runs in the background: follow it at /api/v1/searches/{id}."""
    archive = service.searches.load(
        Path(body.archive) if body.archive else None, Path(body.manifest) if body.manifest else None
    )
    view = service.searches.plan(
        archive, body.authorisation, body.case, body.persons, analysis_fps=body.analysis_fps, chunk_s=body.chunk_s
    )
    assert service.actor is not None
    return SearchOut.of(_threads(request).start(view.id, service.actor, body.workers))


@router.get("/searches", response_model=list[SearchOut])
def list_searches(service: Service) -> list[SearchOut]:
    """Every search, newest first, with its progress."""
    return [SearchOut.of(v) for v in service.searches.all()]


@router.get("/searches/{search_id}", response_model=SearchOut)
def show_search(search_id: str, service: Service) -> SearchOut:
    """A search's record and progress (fraction of the footage done, chunks, alerts)."""
    return SearchOut.of(service.searches.get(search_id))


@router.get("/searches/{search_id}/sightings", response_model=list[SightingOut])
def search_sightings(search_id: str, service: Service) -> list[SightingOut]:
    """Where and when each searched person was seen: candidates awaiting two operators' review."""
    return [SightingOut.of(s) for s in service.searches.sightings(search_id)]


@router.post("/searches/{search_id}/stop", response_model=SearchOut)
def stop_search(search_id: str, service: Service) -> SearchOut:
    """Stop a running search; unfinished chunks are left for a resume."""
    return SearchOut.of(service.searches.stop(search_id))


@router.post("/searches/{search_id}/resume", response_model=SearchOut, status_code=202)
def resume_search(search_id: str, service: Service, request: Request, workers: int = 1) -> SearchOut:
    """Go on with a stopped or interrupted search in the background, without redoing finished chunks."""
    service.require(Action.WATCH_RECORDED)
    view = service.searches.get(search_id)
    assert service.actor is not None
    return SearchOut.of(_threads(request).start(view.id, service.actor, max(1, min(workers, 64))))
