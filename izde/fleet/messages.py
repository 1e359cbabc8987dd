"""What travels over the broker, as typed values. Every message is JSON; the evidence JPEG is base64.

No message carries a face of someone who matched nobody: workers publish alerts (about watchlisted persons,
with their evidence crop) and aggregate counters only. Templates travel only in a gallery reply, to the worker
that holds the session's lease."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from izde.watchlist.fusion import MatchGallery, Space, match_gallery, spaces_of
from izde.watchlist.index import Gallery


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def encode(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def decode(cls, data: bytes) -> Self:
        return cls.model_validate_json(data)


class Job(Message):
    """A durable work item: one worker claims it and holds it by in-progress acks (its lease). ``kind`` names
    what to run ("session": a watch session, or a chunk of a search, which is a session over a file segment);
    ``payload`` is that kind's own message."""

    kind: str
    id: str
    payload: dict[str, Any]


class SessionJob(Message):
    """Everything a worker needs to run a session, except the gallery (asked for once the job is claimed)."""

    session_id: str
    run_id: str
    camera: str
    source: str
    live: bool
    footage_start: datetime  # files: when the recording started; live: when the session started
    analysis_fps: float
    pipeline: dict[str, Any]  # PipelineSettings of the server that started it
    match: dict[str, Any]  # MatchSettings, with the threshold in force
    # A segment of the file (a search's chunk), positions in the whole file; None: all of it.
    start_s: float | None = None
    end_s: float | None = None


class WorkerBeat(Message):
    """A worker's heartbeat in the workers bucket; the key disappears when the beats stop."""

    name: str
    host: str
    capacity: int
    sessions: list[str]
    frames_analysed_per_s: float = 0.0
    frames_dropped: int = 0
    metrics_port: int | None = None
    at: datetime


class SessionSpec(Message):
    """Written by the server that started a session: what the fleet status shows about it."""

    session_id: str
    run_id: str
    camera: str
    authorisation_id: str
    started_by: str  # user name
    started_by_id: str
    live: bool
    started_at: datetime
    organisation_id: str | None = None  # only its organisation's users see or stop it
    # A chunk of a retrospective search: the search whose stop ends it, and the persons it looks for (a subset
    # of those the authorisation names). None for a watch session.
    search_id: str | None = None
    persons: list[str] | None = None


class SessionState(Message):
    """Written by the worker running a session, at claim and with each heartbeat."""

    worker: str
    status: Literal["running", "completed", "failed", "stopped"]
    attempt: int
    claimed_at: datetime
    beat_at: datetime
    frames_read: int = 0
    frames_dropped: int = 0
    frames_analysed: int = 0
    faces_seen: int = 0
    tracks_seen: int = 0
    alerts: int = 0
    error: str | None = None
    stop_reason: str | None = None


class StopRequest(Message):
    by: str
    reason: str
    at: datetime


class AlertMsg(Message):
    run_id: str
    session_id: str
    person_id: str
    track_id: int
    frame_time: datetime
    position_s: float
    distance: float
    threshold: float
    quality: float
    evidence_b64: str | None
    analysed_at: datetime  # when the worker raised it, for the alert latency
    seen_from: datetime | None = None  # when the matched track was seen: its first frame ...
    seen_to: datetime | None = None  # ... and the frame it matched in

    @property
    def evidence_jpeg(self) -> bytes | None:
        return base64.b64decode(self.evidence_b64) if self.evidence_b64 is not None else None

    @property
    def msg_id(self) -> str:
        # The broker drops a republished copy within its duplicate window; the database key does the rest.
        return f"alert.{self.run_id}.{self.track_id}.{self.person_id}"


class CountersMsg(Message):
    run_id: str
    frames_read: int
    frames_analysed: int
    frames_dropped: int
    faces_seen: int
    tracks_seen: int
    alerts: int


class FinishMsg(Message):
    run_id: str
    session_id: str
    status: Literal["completed", "failed", "stopped"]
    error: str | None
    reason: str | None
    counters: CountersMsg


class RecheckRequest(Message):
    session_id: str
    worker: str
    gallery_hash: str | None
    footage_time: datetime


class RecheckReply(Message):
    stop: str | None = None  # why the session must stop now
    gallery_hash: str | None = None  # the gallery in force; a different one must be fetched


class GalleryRequest(Message):
    session_id: str
    worker: str


class GallerySpace(Message):
    """One descriptor network's templates of a gallery (see :class:`izde.watchlist.fusion.Space`)."""

    network: str
    dim: int = Field(gt=0)
    owners: list[int]
    templates_b64: str = Field(description="float32 little-endian, (len(owners), dim)")
    unit: bool = False

    @classmethod
    def of(cls, space: Space) -> GallerySpace:
        data = np.ascontiguousarray(space.templates, dtype="<f4").tobytes()
        return cls(
            network=space.network,
            dim=space.dim,
            owners=[int(o) for o in space.owner],
            templates_b64=base64.b64encode(data).decode(),
            unit=space.unit,
        )

    def space(self) -> Space:
        raw = base64.b64decode(self.templates_b64)
        templates = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(-1, self.dim)
        return Space(self.network, templates, np.asarray(self.owners, dtype=np.int32), self.unit)


class GalleryReply(Message):
    """The authorised gallery of one session: the persons its authorisation names, nothing else, with their
    templates in every descriptor network's space the deployment matches with. Person ids stand in for names:
    a worker has no use for who they are."""

    hash: str
    person_ids: list[str]
    spaces: list[GallerySpace] = Field(default_factory=list)
    error: str | None = None

    @classmethod
    def refused(cls, error: str) -> GalleryReply:
        return cls(hash="", person_ids=[], error=error)

    @classmethod
    def of(cls, gallery: MatchGallery, wl_hash: str) -> GalleryReply:
        return cls(
            hash=wl_hash,
            person_ids=list(gallery.person_ids),
            spaces=[GallerySpace.of(s) for s in spaces_of(gallery)],
        )

    def gallery(self) -> MatchGallery:
        ids = tuple(self.person_ids)
        if not self.spaces:
            return Gallery.empty()
        return match_gallery(ids, ids, tuple(s.space() for s in self.spaces))


class RpcError(Message):
    error: str


def b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data is not None else None
