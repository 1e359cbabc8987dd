"""Prometheus metrics of servers and workers: counts and times only, never who was seen or matched.

Kept in izde's own registry (not the process-wide default), so importing izde registers nothing globally."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)

SESSIONS = Gauge("izde_sessions", "Watch sessions this process runs", registry=REGISTRY)
FRAMES_ANALYSED = Counter("izde_frames_analysed", "Frames analysed", registry=REGISTRY)
FRAMES_DROPPED = Gauge("izde_frames_dropped", "Frames dropped by this process's running sessions", registry=REGISTRY)
ALERTS = Counter("izde_alert_events", "Alert events published (workers) or recorded (servers)", registry=REGISTRY)
ALERTS_RECORDED = Counter("izde_alerts_recorded", "New alerts committed by this recorder", registry=REGISTRY)
DUPLICATES = Counter("izde_alert_duplicates", "Alert events recorded before, stored once", registry=REGISTRY)
ALERT_LATENCY = Histogram(
    "izde_alert_latency_seconds",
    "Live sessions: from the frame's time to the committed alert row",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
    registry=REGISTRY,
)
LEASE_RENEWAL = Gauge(
    "izde_lease_renewal_seconds", "Seconds since the least recent lease renewal of a running session", registry=REGISTRY
)
BROKER_RECONNECTS = Counter("izde_broker_reconnects", "Reconnections to the NATS server", registry=REGISTRY)
WORKERS = Gauge("izde_fleet_workers", "Workers with a live heartbeat (servers)", registry=REGISTRY)


def exposition() -> bytes:
    return generate_latest(REGISTRY)


def serve(port: int, host: str = "127.0.0.1") -> None:
    """A worker's own small metrics endpoint (a daemon thread)."""
    start_http_server(port, addr=host, registry=REGISTRY)
