"""The evidence crop shows the matched face; any other face inside it is blurred beyond detection."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from izde.api import Izde
from izde.pipeline.evidence import crop_region
from tests.cli.helpers import Deployment, json_lines, read_stored
from tests.conftest import HAMILTON, require_data
from tests.governance.support import watch_alerts


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    return inter / float((a[2] - a[0]) * (a[3] - a[1]))


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def bystander_beside(tmp: Path) -> Path:
    """two_people.jpg with the left person's face, at under half size, pasted right beside the right person's
    face: close enough to fall inside the right person's evidence crop, large enough to be detected."""
    image = cv2.imread(str(require_data(HAMILTON / "two_people.jpg")))
    face = cv2.resize(image[20:230, 230:430], (90, 95), interpolation=cv2.INTER_AREA)
    image[105:200, 680:770] = face
    out = tmp / "frames"
    out.mkdir()
    cv2.imwrite(str(out / "000.png"), image)
    return out


def test_other_faces_in_the_evidence_are_blurred(deployment: Deployment, tmp_path: Path) -> None:
    frames = bystander_beside(tmp_path)
    r = deployment.propose("Right person", require_data(HAMILTON / "two_people.jpg"), extra=("--face", "2"))
    assert r.exit_code == 0, r.stderr
    pid = str(json_lines(r.stdout)[0]["id"])
    assert deployment.run("approver", "watchlist", "approve", pid).exit_code == 0
    auth = deployment.authorise([pid], ["hall"])
    (alert,) = watch_alerts(deployment, frames, "hall", auth)
    stored = np.frombuffer(read_stored(deployment.home, str(alert["evidence_path"])), np.uint8)
    evidence = cv2.imdecode(stored, cv2.IMREAD_COLOR)[:, :, ::-1]

    with Izde(home=deployment.home) as service:
        detector = service.stack.detector
    frame = cv2.imread(str(frames / "000.png"))[:, :, ::-1].copy()
    boxes = detector.detect(frame).boxes
    assert len(boxes) == 3  # both people, and the pasted bystander
    k = int(np.argmax(boxes[:, 2] - boxes[:, 0]))  # the right person's face is the largest
    matched = boxes[k]
    x0, y0, x1, y1 = crop_region(matched, frame.shape)
    original = frame[y0:y1, x0:x1]
    in_crop = [b for i, b in enumerate(boxes) if i != k and overlap(b, np.array([x0, y0, x1, y1])) > 0.99]
    assert len(in_crop) == 1, "the bystander must lie wholly inside the evidence crop for this test to mean much"
    other = in_crop[0] - np.array([x0, y0, x0, y0])

    # The crop is where the matched face is, and that face is left as it was (up to JPEG loss).
    assert evidence.shape == original.shape
    ml, mt, mr, mb = (matched - np.array([x0, y0, x0, y0])).tolist()
    diff = np.abs(evidence[mt:mb, ml:mr].astype(int) - original[mt:mb, ml:mr].astype(int))
    assert diff.mean() < 6

    # The bystander: found in the original crop, gone from the evidence, its detail destroyed.
    ol, ot, orr, ob = other.tolist()
    assert len(detector.detect(np.ascontiguousarray(original)).boxes) == 2
    found = detector.detect(np.ascontiguousarray(evidence)).boxes
    assert len(found) == 1 and overlap(found[0], np.array([ml, mt, mr, mb])) > 0.5
    assert sharpness(evidence[ot:ob, ol:orr]) < 0.1 * sharpness(original[ot:ob, ol:orr])
