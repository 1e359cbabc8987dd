"""The default threshold on real faces: 100 enrolled LFW identities, their other photos, 100 strangers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from izde.api import Izde
from izde.errors import EnrolmentRejected
from izde.vision.images import read_image_file
from izde.watchlist.enrol import left_to_right
from izde.watchlist.types import PersonSpec, PhotoSpec
from tests.cli.helpers import Deployment
from tests.conftest import LFW, require_data

pytestmark = pytest.mark.slow


def people() -> tuple[list[str], list[str]]:
    listing = require_data(LFW / "peopleDevTrain.txt").read_text().splitlines()[1:]
    counts = {name: int(n) for name, n in (line.split("\t") for line in listing if "\t" in line)}
    multi = sorted(n for n, c in counts.items() if c >= 2)
    single = sorted(n for n, c in counts.items() if c == 1)
    # Every k-th name: a spread over the alphabet, the same on every run.
    return multi[:: len(multi) // 100][:100], single[:: len(single) // 100][:100]


def photo(name: str, i: int) -> Path:
    return LFW / name / f"{name}_{i:04d}.jpg"


def centre_descriptor(izde: Izde, path: Path) -> np.ndarray | None:
    """LFW images are centred on their subject: take the detected face nearest the centre."""
    image, _ = read_image_file(path)
    faces = left_to_right(izde.stack.detector.detect(image))
    if len(faces) == 0:
        return None
    centres = (faces.boxes[:, :2] + faces.boxes[:, 2:]) / 2
    k = int(np.argmin(np.linalg.norm(centres - np.array(image.shape[1::-1]) / 2, axis=1)))
    aligned = izde.stack.aligner.align(image, faces.select(k))
    # Every network's descriptor, side by side, as the watcher describes a face (the fused default).
    return izde.stack.describe(aligned.chips, izde.stack.extra_chips(image, aligned.landmarks))[0]


@pytest.mark.parametrize("descriptors", ['["dlib", "faceres"]', '["dlib"]'], ids=["fused", "dlib"])
def test_default_threshold_on_lfw(deployment: Deployment, descriptors: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each score at its own default threshold: the fused default, and dlib's alone."""
    monkeypatch.setenv("IZDE_VISION__DESCRIPTORS", descriptors)
    enrolled, strangers = people()
    izde = Izde(home=deployment.home, token=deployment.tokens["curator"])
    approver = Izde(home=deployment.home, token=deployment.tokens["approver"])
    ids: dict[str, str] = {}
    refused: list[str] = []
    for name in enrolled:
        path = photo(name, 1)
        faces = len(izde.stack.detector.detect(read_image_file(path)[0]))
        spec = PersonSpec(
            display_name=name,
            category="wanted",
            legal_basis="LFW test",
            issuing_authority="Test",
            expires_on="2099-01-01",
        )  # type: ignore[arg-type]
        choice = None
        if faces > 1:
            # Some LFW photos show a second person at the edge; enrol the centred one as a curator would.
            image, _ = read_image_file(path)
            lr = left_to_right(izde.stack.detector.detect(image))
            centres = (lr.boxes[:, 0] + lr.boxes[:, 2]) / 2
            choice = int(np.argmin(np.abs(centres - image.shape[1] / 2))) + 1
        try:
            ids[name] = izde.propose(spec, [PhotoSpec(path=path, provenance="official_record", face=choice)]).id
            approver.approve(ids[name])
        except EnrolmentRejected as e:
            refused.append(str(e))
    with Izde(home=deployment.home, token=deployment.tokens["op-a"]) as operator:
        gallery, _ = operator.gallery()  # the templates a session matches against: operators only
    assert len(refused) <= 3, refused  # the quality gate must not refuse ordinary passport-like photos
    assert len(gallery) == 100 - len(refused)
    threshold = izde.settings.match.threshold

    hits = total = 0
    for name in ids:
        for i in (2, 3):
            if not photo(name, i).exists():
                continue
            d = centre_descriptor(izde, photo(name, i))
            if d is None:
                continue
            total += 1
            found = gallery.match(d, threshold)
            hits += bool(found) and found[0].person_id == ids[name]
    false_matches = probes = 0
    for name in strangers:
        d = centre_descriptor(izde, photo(name, 1))
        if d is None:
            continue
        probes += 1
        false_matches += bool(gallery.match(d, threshold))
    izde.close()
    approver.close()

    true_rate, false_rate = hits / total, false_matches / probes
    print(
        f"\nLFW at threshold {threshold}: {hits}/{total} mated probes matched their own identity ({true_rate:.1%}); "
        f"{false_matches}/{probes} non-enrolled probes falsely matched ({false_rate:.1%})"
    )
    assert total >= 150 and probes >= 95
    assert true_rate >= 0.85
    assert false_rate <= 0.05
