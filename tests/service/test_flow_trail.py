"""A whole case leaves one audit entry per action, in order, and no biometric data in any of them."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from izde.config import Settings
from izde.store.crypto import template_context
from izde.store.db import Database
from izde.store.templates import decode_descriptor
from tests.cli.helpers import Deployment
from tests.conftest import HAMILTON, require_data
from tests.governance.support import folder, rows, watch_alerts

EXPECTED = [
    ("curator", "watchlist.propose"),
    ("approver", "watchlist.approve"),
    ("curator", "authorisation.request"),
    ("curator", "fria.record"),
    ("approver", "authorisation.grant"),
    ("op-a", "watch.start"),
    ("system", "alert.raised"),
    ("op-a", "watch.stop"),
    ("op-b", "evidence.view"),
    ("op-a", "alert.review"),
    ("op-b", "alert.review"),
    ("curator", "photo.view"),
    ("curator", "watchlist.remove"),
]
BIOMETRIC_KEYS = {"box", "boxes", "face_box", "descriptor", "descriptors", "embedding", "template", "landmarks"}


def walk(value: Any, key: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [kv for k, v in value.items() for kv in walk(v, k)]
    if isinstance(value, list):
        return [(key, value), *[kv for v in value for kv in walk(v, key)]]
    return [(key, value)]


def test_a_whole_case_is_audited_step_by_step(deployment: Deployment, tmp_path: Path) -> None:
    dep, home = deployment, deployment.home
    (start,) = rows(home, "select max(seq) from audit_log")
    pid = dep.enrol("Obama", require_data(HAMILTON / "obama.jpg"))
    with Database.open(Settings(home=home)) as db:  # stored sealed: the plaintext is what must not leak
        envelope = db.files.envelope
        assert envelope is not None
        sealed = rows(home, "select person_id, descriptor from templates")
        templates = [envelope.open(bytes(d), template_context(p)) for p, d in sealed]
    ((left, top, right, bottom),) = rows(
        home, "select face_left, face_top, face_right, face_bottom from reference_photos"
    )
    auth = dep.authorise([pid], ["door"])
    (alert,) = watch_alerts(dep, folder(tmp_path, "probe", "obama2.jpg"), "door", auth)
    assert dep.run("op-b", "alerts", "show", str(alert["id"])).exit_code == 0
    assert dep.run("op-a", "alerts", "confirm", str(alert["id"])).exit_code == 0
    assert dep.run("op-b", "alerts", "confirm", str(alert["id"])).exit_code == 0
    assert dep.run("curator", "watchlist", "remove", pid, "--yes").exit_code == 0

    entries = rows(
        home, "select actor, action, subject_id, details from audit_log where seq > ? order by seq", start[0]
    )
    assert [(a, b) for a, b, _, _ in entries] == EXPECTED
    subjects = {b: s for _, b, s, _ in entries}
    assert subjects["watchlist.propose"] == subjects["watchlist.remove"] == pid
    assert subjects["alert.raised"] == subjects["alert.review"] == alert["id"]
    assert subjects["authorisation.grant"] == auth

    # No descriptor, in any encoding, and no face box: only ids, counts, settings and decisions.
    text = "\n".join(str(d) for _, _, _, d in entries)
    for t in templates:  # dlib's (128 values) and FaceRes's (1024, mostly zeros: searched from its first value)
        values = decode_descriptor(t, len(t) // 4)
        first = int(np.flatnonzero(values)[0])
        assert base64.b64encode(t[4 * first :]).decode()[:24] not in text
        assert t[4 * first :].hex()[:24] not in text
        assert f"{float(values[first]):.4f}" not in text
    assert not re.search(rf"\b{left}\D+{top}\D+{right}\D+{bottom}\b", text)
    for _, action, _, details in entries:
        for key, value in walk(json.loads(str(details))):
            assert key not in BIOMETRIC_KEYS, (action, key)
            if isinstance(value, list):
                assert len(value) < 16 or not all(isinstance(v, float) for v in value), (action, key)
                assert not (len(value) == 4 and all(isinstance(v, int) for v in value)), (action, key, value)
            if isinstance(value, str):
                # Ids and hashes are hex; a long run of base64 would be binary data.
                assert not re.fullmatch(r"[A-Za-z0-9+/=_-]{40,}", value) or re.fullmatch(r"[0-9a-f]+", value)
