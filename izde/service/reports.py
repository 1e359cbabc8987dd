"""Reports for oversight: the use record of each session (Art. 12(3)-style), the public transparency
report, the impact-assessment data pack and the risk classification of a deployment."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from izde.errors import InvalidInput
from izde.governance import fria, transparency
from izde.governance.audit import Entry
from izde.governance.audit_verify import verify
from izde.governance.risk import Classification, Deployment, classify
from izde.governance.roles import Action, Actor, PermissionDenied
from izde.service.audit import entries
from izde.service.auditlog import visible_to
from izde.service.authorisations import find_authorisation, latest_fria, scope_of
from izde.service.settings import SettingsService
from izde.store import runs as run_store
from izde.store.models import (
    Alert,
    AlertReview,
    Authorisation,
    FaceCount,
    Organisation,
    Person,
    ReferencePhoto,
    User,
    WatchRun,
)


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    user: str
    decision: str
    at: datetime


@dataclass(frozen=True, slots=True)
class MatchRecord:
    alert_id: str
    camera: str
    person_id: str  # the watchlist entry matched (the reference data), not a name
    frame_time: datetime
    position_s: float
    distance: float
    threshold: float
    status: str
    evidence_file: str | None  # a reference into the data directory; the image itself is never copied here
    reviews: tuple[ReviewRecord, ...]


@dataclass(frozen=True, slots=True)
class UseRecord:
    run_id: str
    camera: str
    source_kind: str
    source: str
    started_at: datetime
    ended_at: datetime | None
    status: str
    stop_reason: str | None
    recorded_at: datetime | None
    authorisation_id: str | None
    authorisation_reference: str | None
    started_by: str | None
    watchlist_hash: str
    watchlist_size: int
    threshold: float
    frames_analysed: int
    faces_seen: int
    matches: tuple[MatchRecord, ...]


def without_credentials(source: str) -> str:
    """A stream URL without user and password: the use record must not leak camera credentials."""
    parts = urlsplit(source)
    if not parts.scheme or "@" not in parts.netloc:
        return source
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


class ReportService(SettingsService):
    def _require_any(self, *actions: Action) -> Actor:
        """Allowed if any of ``actions`` is; the refusal names the first."""
        for a in actions[1:]:
            try:
                return self.require(a)
            except PermissionDenied:
                continue
        return self.require(actions[0])

    def _usernames(self, session: Session) -> dict[str, str]:
        return {uid: name for uid, name in session.execute(select(User.id, User.username))}

    # -- use record -----------------------------------------------------------------------------------------

    def use_log(
        self, run: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[UseRecord]:
        """One record per watch session: when, under what, against which list, what matched, who verified."""
        actor = self.require(Action.REPORT_READ)
        if run is not None and (since is not None or until is not None):
            raise InvalidInput("give either --run or a time range, not both")
        with self.db.session() as session:
            if run is not None:
                rows = [run_store.get_run(session, run)]
            else:
                q = select(WatchRun).order_by(WatchRun.started_at)
                if since is not None:
                    q = q.where(WatchRun.started_at >= since)
                if until is not None:
                    q = q.where(WatchRun.started_at < until)
                rows = list(session.scalars(q))
            names = self._usernames(session)
            records = [self._use_record(session, r, names) for r in rows]
            self.audit(
                session, "report.use_log", "run", run, actor=actor, sessions=len(records), since=since, until=until
            )
        return records

    def _use_record(self, session: Session, r: WatchRun, names: dict[str, str]) -> UseRecord:
        alerts = session.scalars(select(Alert).where(Alert.run_id == r.id).order_by(Alert.frame_time))
        matches = []
        for a in alerts:
            reviews = session.scalars(select(AlertReview).where(AlertReview.alert_id == a.id).order_by(AlertReview.at))
            matches.append(
                MatchRecord(
                    a.id,
                    a.camera,
                    a.person_id,
                    a.frame_time,
                    a.position_s,
                    a.distance,
                    a.threshold,
                    a.status,
                    a.evidence_file,
                    tuple(ReviewRecord(names.get(v.user_id, v.user_id), v.decision, v.at) for v in reviews),
                )
            )
        auth = session.get(Authorisation, r.authorisation_id) if r.authorisation_id else None
        return UseRecord(
            r.id,
            r.camera,
            r.source_kind,
            without_credentials(r.source),
            r.started_at,
            r.ended_at,
            r.status,
            r.stop_reason,
            r.recorded_at,
            r.authorisation_id,
            auth.reference if auth else None,
            names.get(r.started_by, r.started_by) if r.started_by else None,
            r.watchlist_hash,
            r.watchlist_size,
            r.threshold,
            r.frames_analysed,
            r.faces_seen,
            tuple(matches),
        )

    # -- transparency report --------------------------------------------------------------------------------

    def transparency(self, first: date, last: date) -> transparency.Report:
        """Aggregate figures for the days ``first``..``last`` (inclusive). No personal data."""
        actor = self.require(Action.REPORT_READ)
        if last < first:
            raise InvalidInput("--to is before --from")
        since, until = _day_start(first), _day_start(last + timedelta(days=1))
        now = datetime.now(UTC)
        with self.db.session() as session:
            states = session.scalars(
                select(Authorisation.status).where(
                    Authorisation.requested_at >= since, Authorisation.requested_at < until
                )
            )
            runs = [
                transparency.Run(camera, start, end or now)
                for camera, start, end in session.execute(
                    select(WatchRun.camera, WatchRun.started_at, WatchRun.ended_at).where(
                        WatchRun.started_at >= since, WatchRun.started_at < until
                    )
                )
            ]
            counts = [
                (c, h, int(f))
                for c, h, f in session.execute(
                    select(FaceCount.camera, FaceCount.hour, FaceCount.faces).where(
                        FaceCount.hour >= since, FaceCount.hour < until
                    )
                )
            ]
            chain = entries(session)
            own = entries(session, where=visible_to(session, actor.organisation_id))
            outcomes = _alert_outcomes(own, since, until)
            report = transparency.aggregate(first, last, now, list(states), runs, counts, outcomes)
            report.audit_chain_ok = verify(chain, self.audit_key).ok
            self.audit(
                session,
                "report.transparency",
                "report",
                None,
                actor=actor,
                period=[first.isoformat(), last.isoformat()],
            )
        return report

    # -- impact assessment and risk -------------------------------------------------------------------------

    def _deployment_of(self, session: Session, a: Authorisation, features: frozenset[str] = frozenset()) -> Deployment:
        scope = scope_of(session, a)
        le = session.scalar(
            select(Organisation.law_enforcement)
            .join(User, User.organisation_id == Organisation.id)
            .where(User.id == a.requested_by)
        )
        provenances = session.scalars(
            select(ReferencePhoto.provenance).where(ReferencePhoto.person_id.in_(scope.persons)).distinct()
        )
        return Deployment(
            law_enforcement=bool(le),
            live=a.covers_live,
            recorded=a.covers_recorded,
            objective=a.objective,
            provenances=frozenset(provenances),
            fria_recorded=scope.has_fria,
            authorised=a.status == "granted",
            offence_code=a.offence_code,
            features=features,
        )

    def risk(self, ref: str, features: frozenset[str] = frozenset()) -> tuple[str, Classification]:
        """The authorisation's id and the classification of the deployment it opens (with ``features`` asked)."""
        self.require(Action.AUTHORISATION_READ)
        with self.db.session(readonly=True) as session:
            a = find_authorisation(session, ref)
            return a.id, classify(self._deployment_of(session, a, features))

    def fria_pack(self, ref: str, complaints: str = fria.DEFAULT_COMPLAINTS) -> dict[str, object]:
        """The data pack for the deployment's fundamental-rights impact assessment."""
        actor = self._require_any(Action.FRIA_RECORD, Action.REPORT_READ)
        threshold = self.threshold()
        now = datetime.now(UTC)
        with self.db.session() as session:
            a = find_authorisation(session, ref)
            scope = scope_of(session, a)
            categories = Counter(session.scalars(select(Person.category).where(Person.id.in_(scope.persons))))
            runs = list(session.scalars(select(WatchRun).where(WatchRun.authorisation_id == a.id)))
            cams = sorted(scope.cameras)
            # Per session, not per clock hour: recorded footage is analysed after the authorised window.
            faces: Counter[str] = Counter()
            tracks: Counter[str] = Counter()
            for r in runs:
                faces[r.camera] += r.faces_seen
                tracks[r.camera] += r.tracks_seen
            record = latest_fria(session, a.id)
            starts = [r.started_at for r in runs]
            pack = fria.build(
                fria.FriaInputs(
                    authorisation={
                        "id": a.id,
                        "objective": a.objective,
                        "offence_code": a.offence_code,
                        "issuing_authority": a.issuing_authority,
                        "reference": a.reference,
                        "status": a.status,
                        "starts_at": a.starts_at.isoformat(),
                        "ends_at": a.ends_at.isoformat(),
                        "covers_live": a.covers_live,
                        "covers_recorded": a.covers_recorded,
                        "fria_recorded": record is not None,
                        "fria_summary": record.summary if record else None,
                        "fria_document_sha256": record.document_sha256 if record else None,
                    },
                    settings=self.settings,
                    threshold=threshold,
                    persons_by_category=dict(categories),
                    cameras=cams,
                    sessions=len(runs),
                    hours=sum(((r.ended_at or now) - r.started_at).total_seconds() for r in runs) / 3600,
                    first_session=min(starts, default=None),
                    last_session=max(starts, default=None),
                    faces_by_camera=dict(faces),
                    tracks_by_camera=dict(tracks),
                    risk=classify(self._deployment_of(session, a)),
                    complaints=complaints.strip() or fria.DEFAULT_COMPLAINTS,
                    generated_at=now,
                )
            )
            self.audit(session, "report.fria", "authorisation", a.id, actor=actor)
        return pack


def _alert_outcomes(chain: list[Entry], since: datetime, until: datetime) -> list[transparency.AlertOutcome]:
    """Alerts raised in [since, until) and the state of their last review, from the audit log."""
    raised: dict[str, tuple[str, datetime]] = {}
    state: dict[str, str] = {}
    for e in chain:
        if e.action == "alert.raised" and e.subject_id and since <= e.at < until:
            raised[e.subject_id] = (str(json.loads(e.details).get("camera", "?")), e.at)
        elif e.action == "alert.review" and e.subject_id:
            after = json.loads(e.details).get("after")
            if isinstance(after, str):
                state[e.subject_id] = after
    return [transparency.AlertOutcome(cam, at, state.get(aid, "pending")) for aid, (cam, at) in raised.items()]
