"""One strict configuration tree: defaults, then a YAML file, then IZDE_* environment variables.

Unknown keys are rejected so that a typo in a deployment's settings fails loudly instead of silently
running with a default. Nested fields use a double underscore in the environment, e.g.
``IZDE_MATCH__THRESHOLD=0.42``.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import yaml
from platformdirs import user_data_path
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from izde.errors import ConfigError

CONFIG_FILE_NAME = "config.yaml"
# Settings that moved to another section, (old section, key) -> new section; files and environments that still
# use the old place keep working. Where both are given, the new place wins.
MOVED: dict[tuple[str, str], str] = {("web", "login_attempts"): "security", ("web", "login_window_s"): "security"}
# The fused default threshold (see MatchSettings.threshold): FPIR no higher than dlib's at 0.50 on LFW dev-train.
FUSED_THRESHOLD = 0.486
_YAML_FILE: ContextVar[Path | None] = ContextVar("izde_yaml_file", default=None)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VisionSettings(_Strict):
    detector: Literal["blazeface", "hog", "mmod"] = Field(
        "blazeface",
        description=(
            "Face detector: BlazeFace (a small CNN, MediaPipe's 256 px model, run fully convolutional over the "
            "frame; needs 'izde models build'), dlib's HOG (frontal faces) or dlib's MMOD CNN (more poses, slow). "
            "Measured on the shared clips: BlazeFace at blazeface_scale 0.5 and min score 0.7 finds 91% of the "
            "faces HOG with one upsampling finds and 32% more in all (faces turned down or aside), at a sixth of "
            "HOG's CPU time on a 720p frame (48 ms against ~300 ms); with the whole pipeline, 2.9 instead of 1.2 "
            "cameras per 2 cores on the 720p crowd clip, 11 instead of 5 on Hamilton, with the same alerts."
        ),
    )
    blazeface_scale: float = Field(
        0.5,
        ge=0.1,
        le=2.0,
        description=(
            "BlazeFace searches the frame scaled by this in 256 px tiles; it finds faces from ~20 px of the "
            "scaled frame, so 0.5 finds them from ~40 px (as HOG with one upsampling) and 1.0 from ~20 px at four "
            "times the cost."
        ),
    )
    blazeface_min_score: float = Field(
        0.7,
        gt=0.0,
        lt=1.0,
        description=(
            "BlazeFace's confidence a detection needs; lower finds more faces and more non-faces. Measured on the "
            "shared clips: 0.6 finds 95% of HOG's faces and 57% more in all, but also a dark sleeve in one "
            "reference photo (which then needs --face); 0.7 finds 91% and 32% more, and no non-face there."
        ),
    )
    detector_backend: Literal["dlib", "onnx"] = Field(
        "onnx", description="What runs the MMOD CNN: dlib itself or izde's ONNX export of the same network."
    )
    embedder: Literal["dlib", "onnx"] = Field(
        "onnx", description="What runs the face descriptor network: dlib itself or izde's ONNX export of it."
    )
    upsample: int | None = Field(
        None,
        ge=0,
        le=3,
        description=(
            "HOG and MMOD: times the image is upsampled before detection; each step finds faces ~1/2 smaller. "
            "Default: 1 for HOG (finds faces from ~40 px), 0 for MMOD (from ~80 px, a quarter of the cost of 1). "
            "BlazeFace uses blazeface_scale instead."
        ),
    )

    threads: int = Field(
        1,
        ge=0,
        description=(
            "Threads one frame's analysis runs on: its face detection and the ONNX Runtime networks' own "
            "threads; 0: one per usable core. HOG searches larger than ~320x320 px are cut by pyramid level into "
            "jobs that find the same faces with the same scores, and a frame's regions run side by side. Measured "
            "on 2 cores, whole 1280x720 crowd frames: with the second core free, 2 threads took 0.65x the "
            "wall-clock time for 1.1x the CPU time; with it busy, no gain. 1 (the default) costs the least CPU per "
            "frame and suits 'izde serve' and 'izde worker', where the "
            "cameras already share the cores; 'izde watch' of one source uses 0 unless this is set."
        ),
    )

    @property
    def detector_upsample(self) -> int:
        if self.upsample is not None:
            return self.upsample
        return 1 if self.detector == "hog" else 0

    flip_average: bool = Field(
        True,
        description=(
            "Average each face's descriptor with its mirror image's (twice the descriptor cost). On LFW dev "
            "pairs: 99.17% accuracy instead of 98.94%. Templates made with and without it do not mix."
        ),
    )
    onnx_device: Literal["cpu", "cuda", "auto"] = Field(
        "auto", description="ONNX Runtime provider: the CUDA provider when 'auto' finds a GPU, else the CPU."
    )
    descriptors: tuple[Literal["dlib"]] | tuple[Literal["dlib"], Literal["faceres"]] = Field(
        ("dlib", "faceres"),
        description=(
            "Descriptor networks faces are matched with. [dlib, faceres] (the default) matches by the fused score "
            "of dlib's ResNet and HSE FaceRes: on LFW dev-train 1:N with one photo per person it misses 31% of "
            "enrolled people at FPIR 1e-2 for 1,000 people where dlib alone misses 49% (9% against 17% for 100), "
            "and costs ~6x dlib's CPU time per embedded face; it needs 'izde models build'. [dlib] matches by "
            "dlib's descriptor alone. Each network's templates are stored; a watchlist lacking templates of a "
            "network named here is refused until 'izde watchlist recompute' computes them."
        ),
    )

    @property
    def fused(self) -> bool:
        return len(self.descriptors) > 1


class MatchSettings(_Strict):
    threshold: float = Field(
        0.50,
        gt=0.0,
        lt=2.0,
        description=(
            "Largest Euclidean distance between a track's fused descriptor and a reference template that counts "
            "as a candidate match. Measured on LFW with mirrored averaging and one photo per enrolled person: "
            "0.50 matched 85-88% of probes of 100 enrolled people to themselves and falsely matched 1-3% of "
            "people not enrolled; false matches grow with the watchlist (5.5% at 300 people), so large lists "
            "need a lower value ('izde threshold show'). dlib's customary 0.6 falsely matches most of them. "
            "With fused descriptors the score is in the same units (dlib's impostor mean and spread, see "
            "izde.watchlist.fusion) and the default is 0.486 instead: the lowest of the fused thresholds that give "
            "the FPIR dlib reaches at 0.50 on LFW dev-train 1:N for 100, 300 and 1,000 people (0.486, 0.495, "
            "0.488), where the fused score misses 7% / 8% / 12% of enrolled people against dlib's 15% / 13% / 15%."
        ),
    )
    screen_margin: float | None = Field(
        0.15,
        ge=0.0,
        description=(
            "With fused descriptors, dlib's (the cheaper network) is computed first, and the others only for "
            "tracks it puts within threshold + this margin (dlib's units) of someone on the watchlist; the others "
            "match nobody. Measured on LFW dev-train 1:N at the fused default ('izde eval fusion'): 0.15 misses "
            "no mate the unscreened fused score finds at 100, 300 or 1,000 people (0.10 misses 1 of 2,336 at "
            "1,000; 0.05 raises FNIR from 6.9% to 9.0% at 100) and still runs the other networks for 76% / 95% / "
            "99.5% of searches of people not enrolled: the saving is large for short watchlists (a crowd of "
            "strangers against a few wanted persons skips almost all of FaceRes, ~60% of the descriptor cost) "
            "and vanishes for long ones. null computes every network for every track."
        ),
    )


class PipelineSettings(_Strict):
    analysis_fps: float = Field(
        5.0,
        gt=0.0,
        le=120.0,
        description="Frames analysed per second of video; the others are skipped, not queued.",
    )
    best_shots: int = Field(3, ge=1, le=10, description="Best shots kept per track and fused for matching.")
    cooldown_s: float = Field(
        60.0,
        ge=0.0,
        description="After an alert for a person on a camera, further tracks of them there stay silent.",
    )
    track_max_gap_s: float = Field(
        1.0, gt=0.0, description="A track with no detection for this long (source time) is closed."
    )
    min_face_px: int = Field(
        36,
        ge=16,
        description="Faces narrower than this (pixels) are counted but not recognised: too few pixels.",
    )
    min_quality: float = Field(0.2, ge=0.0, le=1.0, description="Shots below this quality are never embedded.")
    max_embeds_per_track: int = Field(
        6, ge=1, description="Cap on descriptor computations per track; bounds cost in crowds."
    )
    describe_ahead: bool = Field(
        False,
        description=(
            "Describe and match each frame's best shots on a second thread while the next frame is detected, "
            "for one camera watched alone ('izde watch' turns it on unless set): the same work, on more cores, "
            "alerts one frame later. Off where cameras share the machine (serve, workers): their own threads "
            "keep the cores busy."
        ),
    )
    detect_ahead: bool = Field(
        False,
        description=(
            "Where the picture moves everywhere (a crowd, searched whole frame after frame), detect the next "
            "frame of a file on a second thread while this one is detected, for one camera watched alone "
            "('izde watch' turns it on unless set): two frames side by side run twice as fast as one frame "
            "on two threads. The same faces; a guess that the next frame is searched whole that proves wrong "
            "costs one detection. Off where cameras share the machine (serve, workers), and for live cameras."
        ),
    )
    motion: Literal["off", "diff", "mog2"] = Field(
        "diff",
        description=(
            "Motion gating of face detection: between full scans, faces are searched only where the picture "
            "changed ('diff': frame differencing, ~1 ms a frame; 'mog2': OpenCV's background model, which also "
            "marks a person who stopped until they blend in) and around live tracks; 'off' searches every "
            "analysed frame whole. Measured ('izde bench capacity'): same alerts and tracks as 'off'; a still "
            "scene at 720p costs a fraction of the CPU, a crowd moving everywhere about the same."
        ),
    )
    motion_threshold: int = Field(
        30,
        ge=1,
        le=255,
        description=(
            "Grey-level change (0-255, on a blurred 320 px wide copy) that counts as motion. 18 marked stage "
            "lighting and compression noise on the Hamilton clip (regions covering ~70% of its frames instead "
            "of ~50%) and found no face that 30 missed."
        ),
    )
    full_scan_s: float = Field(
        2.0,
        gt=0.0,
        description=(
            "With motion gating, the whole frame is still searched every this many source seconds, so a face that "
            "keeps still and was never tracked is found within this time; after a full scan that found nothing "
            "new the interval grows up to full_scan_max_s. Each full scan costs what one frame costs without "
            "gating (about 0.1 s CPU at 640x360, 0.3 s at 720p with HOG upsample 1)."
        ),
    )
    full_scan_max_s: float = Field(
        8.0,
        gt=0.0,
        description=(
            "Full scans adapt: each one due by time that finds no face the gating had not already found doubles "
            "the interval to the next (full_scan_s, 2x, 4x, ...) up to this; one that finds a new face sets it "
            "back to full_scan_s. A still scene then pays for a full scan every few seconds instead of every "
            "full_scan_s, a scene where gating misses faces keeps frequent scans. Set equal to full_scan_s for "
            "fixed full scans."
        ),
    )
    search_every: int = Field(
        1,
        ge=1,
        le=10,
        description=(
            "With motion gating, moving areas are searched for new faces on every Nth analysed frame (motion "
            "in between is kept for that search); tracked faces are searched for around their predicted boxes "
            "on every analysed frame. 2 cut the crowd clip's CPU by a quarter to a third but lost brief faces "
            "(tracks 10 -> 8 at 720p, 14 -> 11 at 1080p), so the default searches every frame."
        ),
    )
    redetect_every: int = Field(
        2,
        ge=1,
        le=10,
        description=(
            "With motion gating, a tracked face is searched for by the detector on every Nth analysed frame; in "
            "between it is carried from the previous frame by optical flow (~2 ms a face, where searching "
            "around it costs ~10 ms at 720p) and aligned, scored and matched as a detected face is. A face the "
            "flow loses is searched for at once. 1 detects every tracked face on every analysed frame."
        ),
    )
    motion_pad: float = Field(
        0.06,
        ge=0.0,
        le=1.0,
        description="Margin added around each moving area, as a fraction of the frame's height (a head's size).",
    )
    motion_max_area: float = Field(
        0.6,
        gt=0.0,
        le=1.0,
        description=(
            "When the areas to search cover more than this fraction of the frame, the frame is a busy one "
            "(see busy_scan): one pass over the frame costs less than many overlapping crops."
        ),
    )
    busy_scan: Literal["full", "coarse"] = Field(
        "full",
        description=(
            "With motion gating and the HOG detector, what a busy frame (motion nearly everywhere) gets: 'full' "
            "searches it whole; 'coarse' searches it once with one upsampling less (a quarter of the cost; HOG "
            "then finds faces from ~80 px instead of ~40 px) and its tracked faces at full resolution, leaving "
            "small new faces to the next full scan. Measured with HOG: 'coarse' doubled the cameras on the crowd "
            "clip (1.2 -> 2.1 at 720p) with the same alerts and tracks, but found 7% fewer faces at 720p. "
            "BlazeFace has no coarser step: its busy frames are searched whole."
        ),
    )
    stream_retries: int = Field(5, ge=0, description="Reconnect attempts for a live stream that drops.")
    stream_backoff_s: float = Field(1.0, gt=0.0, description="First reconnect delay; doubles on each attempt.")


class EnrolmentSettings(_Strict):
    min_face_px: int = Field(
        64, ge=32, description="A reference face narrower than this (pixels) is refused as too small."
    )
    min_sharpness: float = Field(
        15.0,
        ge=0.0,
        description=(
            "Variance of the Laplacian of the aligned chip below which a photo is too blurred. 15 accepts 99% of "
            "LFW photos and refuses 90% of them after a Gaussian blur of sigma 2."
        ),
    )


class RetentionSettings(_Strict):
    """How long each kind of record is kept before ``izde purge`` (also run at every watch) deletes it."""

    rejected_alerts_days: int = Field(7, ge=0, description="False alerts (rejected by an operator).")
    unconfirmed_alerts_days: int = Field(30, ge=1, description="Alerts nobody confirmed or rejected.")
    confirmed_alerts_days: int = Field(365, ge=1, description="Confirmed alerts and their outcome.")
    audit_log_days: int = Field(
        365, ge=183, description="Audit entries; never less than 6 months (183 days), so oversight can look back."
    )
    runs_days: int = Field(365, ge=30, description="Watch-run records (counters only) without alerts left.")


class SecuritySettings(_Strict):
    audit_key_file: Path | None = Field(
        None, description="File holding the audit chain's HMAC key (default: HOME/secrets/audit.key)."
    )
    token_file: Path | None = Field(
        None,
        description=(
            "Where 'izde login' keeps this user's session token (default: one file per data directory in the "
            "user's config dir)."
        ),
    )
    data_key_file: Path | None = Field(
        None,
        description=(
            "Key ring of the master keys that encrypt photos, evidence and templates at rest (default: beside the "
            "data directory, HOME.keys/data.keyring; IZDE_DATA_KEY=id:hex overrides it). Keep it off the data disk."
        ),
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 14, description="Lifetime of a login session.")
    login_attempts: int = Field(
        5,
        ge=1,
        description=(
            "Failed logins per user name and address before a pause; the command line, API and console (every "
            "server process on the database) count together."
        ),
    )
    login_window_s: float = Field(
        300.0, gt=0, description="How long a failed login counts, and so the longest pause after too many."
    )
    max_image_pixels: int = Field(
        40_000_000,
        ge=10_000,
        description=(
            "Largest image or video frame (width x height) read: photos, uploads, folders and video frames declaring "
            "more are refused from their header, before decoding (a small file can declare gigabytes of pixels)."
        ),
    )


class CameraSettings(_Strict):
    """Which sources cameras may read (checked when a camera is registered and when a session starts)."""

    media_folders: tuple[Path, ...] = Field(
        (),
        description=(
            "Folders recorded footage and image folders must be inside. Empty: anywhere outside the data directory "
            "and the system's folders; set it in production."
        ),
    )
    allow_private_hosts: tuple[str, ...] = Field(
        (),
        description=(
            "Stream hosts (names, addresses or networks such as 127.0.0.0/8) allowed although they are loopback, "
            "link-local or reserved addresses; such hosts are refused otherwise."
        ),
    )
    registered_only: bool = Field(
        True,
        description=(
            "Sessions read only registered cameras, from the source an administrator registered ('izde cameras "
            "add'). Turn off only for trying izde out on local files."
        ),
    )


class WebhookTarget(_Strict):
    url: str = Field(pattern=r"^https?://", description="Where alert notifications are POSTed (JSON).")
    secret_file: Path = Field(
        description="File holding the shared secret for the X-Izde-Signature header (HMAC-SHA256 of the body)."
    )


class WebSettings(_Strict):
    """``izde serve``: the REST API, the live feed, webhooks and the review console."""

    host: str = Field("127.0.0.1", description="Address to listen on; put a TLS-terminating proxy in front.")
    port: int = Field(8080, ge=1, le=65535, description="Port to listen on.")
    public_url: str = Field(
        "http://127.0.0.1:8080", description="Base URL people reach the console at; used for links in webhooks."
    )
    trusted_proxies: tuple[str, ...] = Field(
        (),
        description=(
            "Addresses of the TLS-terminating proxies whose X-Forwarded-For header gives the client's address (for "
            "the login limit and the logs). Empty: the header is ignored and the peer's own address counts."
        ),
    )
    secure_cookies: bool = Field(
        True, description="Mark the session cookie Secure (HTTPS only). Turn off only for tests on localhost."
    )
    max_upload_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="Largest accepted photo upload.")
    max_sessions: int | None = Field(
        None,
        ge=1,
        description=(
            "Most watch sessions this server runs at once (none: no limit). Size it with 'izde bench capacity': "
            "more live cameras than the machine can analyse in real time make every one of them drop frames."
        ),
    )
    webhooks: tuple[WebhookTarget, ...] = Field((), description="Receivers notified of every new alert.")
    allow_http_webhook_hosts: tuple[str, ...] = Field(
        (),
        description=(
            "Webhook hosts that may be reached over plain http:// (e.g. a receiver on 127.0.0.1); every other "
            "webhook URL must be https://, since deliveries are signed but not encrypted."
        ),
    )
    webhook_timeout_s: float = Field(5.0, gt=0, description="Time a receiver has to answer one delivery.")
    webhook_backoff_s: float = Field(1.0, gt=0, description="First retry delay; doubles on each failed attempt.")
    webhook_max_backoff_s: float = Field(300.0, gt=0, description="Longest delay between two retries.")

    @model_validator(mode="after")
    def _https_webhooks(self) -> WebSettings:
        from urllib.parse import urlsplit

        for hook in self.webhooks:
            parts = urlsplit(hook.url)
            if parts.scheme == "http" and (parts.hostname or "") not in self.allow_http_webhook_hosts:
                raise ValueError(
                    f"webhook {parts.scheme}://{parts.hostname}... must use https:// (or list its host in "
                    "web.allow_http_webhook_hosts)"
                )
        return self


class BrokerSettings(_Strict):
    """The fleet: ``izde serve`` dispatches watch sessions to ``izde worker`` processes over NATS JetStream.

    Unset ``url`` keeps the embedded default: sessions run as threads of the server, no broker."""

    url: str | None = Field(
        None,
        pattern=r"^(nats|tls)://",
        description="NATS server(s), comma-separated, e.g. nats://10.0.0.5:4222; unset: no fleet.",
    )
    failover_s: float = Field(
        15.0,
        ge=2.0,
        le=600.0,
        description="How soon a dead worker's sessions are claimed by another (the assignment's lease).",
    )
    recheck_s: float = Field(
        3.0,
        gt=0.0,
        le=10.0,
        description=(
            "How often a worker asks the servers whether a session may go on (stop, authorisation, watchlist, "
            "user); stops and withdrawals reach the worker within this time plus a round trip."
        ),
    )
    recorder: bool = Field(
        True, description="This server also records the fleet's events (alerts, counters) into the database."
    )
    credentials_file: Path | None = Field(
        None, description="NATS credentials (.creds: user JWT and NKey seed) of this process's role."
    )
    user: str | None = Field(None, description="NATS user name, for servers configured with users and passwords.")
    password_file: Path | None = Field(None, description="File holding the NATS password of ``user``.")
    tls_ca: Path | None = Field(None, description="CA certificate the NATS server's certificate is checked against.")
    tls_cert: Path | None = Field(None, description="Client certificate, for NATS servers that verify clients.")
    tls_key: Path | None = Field(None, description="Private key of ``tls_cert``.")
    connect_timeout_s: float = Field(5.0, gt=0, description="Time to reach the NATS server at start.")


def default_home() -> Path:
    return user_data_path("izde", appauthor=False)


class ArchiveSettings(_Strict):
    """Retrospective searches of recorded footage (``izde search``)."""

    urgent_grace_h: float = Field(
        48.0,
        gt=0.0,
        le=48.0,
        description=(
            "Hours a search started under an urgent (not yet granted) authorisation may run; without a grant by "
            "then it stops and its results are purged. The AI Act (Art. 26(10)) allows at most 48."
        ),
    )
    chunk_s: float = Field(
        120.0,
        ge=5.0,
        description="Seconds of footage per unit of work: the most a crash makes a worker redo.",
    )
    analysis_fps: float = Field(
        5.0, gt=0.0, le=60.0, description="Frames analysed per second of footage, unless a search sets its own."
    )
    sighting_gap_s: float = Field(
        60.0, ge=0.0, description="Alerts of one person on one camera closer than this are one sighting."
    )


class Settings(BaseSettings):
    """All of izde's settings. Build with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix="IZDE_", env_nested_delimiter="__", extra="forbid", frozen=True)

    home: Path = Field(default_factory=default_home, description="Data directory: database, photos, evidence.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default is the SQLite file izde.db in the data directory."
    )
    vision: VisionSettings = VisionSettings()
    match: MatchSettings = MatchSettings()
    pipeline: PipelineSettings = PipelineSettings()
    enrolment: EnrolmentSettings = EnrolmentSettings()
    retention: RetentionSettings = RetentionSettings()
    security: SecuritySettings = SecuritySettings()
    cameras: CameraSettings = CameraSettings()
    web: WebSettings = WebSettings()
    broker: BrokerSettings = BrokerSettings()
    archive: ArchiveSettings = ArchiveSettings()

    @model_validator(mode="after")
    def _threshold_of_the_score(self) -> Settings:
        # The default threshold belongs to the score matched with; one set explicitly is kept as given.
        if self.vision.fused and "threshold" not in self.match.model_fields_set:
            match = self.match.model_copy(update={"threshold": FUSED_THRESHOLD})
            object.__setattr__(self, "match", match)
        return self

    @model_validator(mode="before")
    @classmethod
    def _moved_settings(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for (old, key), new in MOVED.items():
            section, target = data.get(old), data.get(new)
            if isinstance(target, BaseModel):
                target = target.model_dump(exclude_unset=True)
            if not (isinstance(section, dict) and key in section and isinstance(target, dict | None)):
                continue  # nothing to move, or a malformed section that validation will report
            data[old] = {k: v for k, v in section.items() if k != key}
            data[new] = {key: section[key], **(target or {})}
        return data

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments win over the environment, which wins over the YAML file.
        yaml_file = _YAML_FILE.get()
        if yaml_file is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))

    @property
    def audit_key_path(self) -> Path:
        return self.security.audit_key_file or self.home / "secrets" / "audit.key"

    @property
    def token_path(self) -> Path:
        from platformdirs import user_config_path

        if self.security.token_file is not None:
            return self.security.token_file
        # One token per data directory: a login to one deployment must not shadow (or break) another's.
        import hashlib

        key = hashlib.sha256(str(self.home.expanduser().resolve()).encode()).hexdigest()[:16]
        return user_config_path("izde", appauthor=False) / "tokens" / key

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'izde.db'}"


def load_settings(home: Path | str | None = None, config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Settings from the YAML file (``--config``, ``IZDE_CONFIG`` or ``HOME/config.yaml``), env and overrides."""
    home_path = Path(home) if home is not None else Path(os.environ["IZDE_HOME"]) if "IZDE_HOME" in os.environ else None
    cfg = Path(config_file) if config_file else Path(os.environ["IZDE_CONFIG"]) if "IZDE_CONFIG" in os.environ else None
    if cfg is None:
        guess = (home_path or default_home()) / CONFIG_FILE_NAME
        cfg = guess if guess.is_file() else None
    elif not cfg.is_file():
        raise ConfigError(f"configuration file {cfg} does not exist", "check --config or IZDE_CONFIG")
    if cfg is not None:
        try:
            data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"cannot read configuration file {cfg}: {e}") from e
        if data is not None and not isinstance(data, dict):
            raise ConfigError(f"configuration file {cfg} must hold a mapping of settings")
    values = dict(overrides)
    if home_path is not None:
        values["home"] = home_path
    token = _YAML_FILE.set(cfg)
    try:
        return Settings(**values)
    except ValidationError as e:
        raise ConfigError(f"invalid configuration: {e}", "see 'izde config show' for the fields") from e
    finally:
        _YAML_FILE.reset(token)
