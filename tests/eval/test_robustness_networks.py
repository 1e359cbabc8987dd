"""Robustness slices with each network and fused: the probe sample, the table, and a small real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from izde.eval import identification, robustness
from izde.eval.datasets import load_identities
from izde.eval.report import markdown, robustness_by_network_md
from izde.watchlist.fusion import load_fusion
from tests.conftest import LFW, require_data
from tests.vision.faceres_helpers import require_faceres


def _split() -> identification.Split:
    names = tuple(f"p{i}" for i in range(10))
    enrol = tuple((Path(f"{n}/0.jpg"),) for n in names)
    mated = tuple((Path(f"{n}/{j}.jpg"), i) for i, n in enumerate(names) for j in (1, 2))
    return identification.Split(names, enrol, mated, tuple(Path(f"x/{k}.jpg") for k in range(50)))


def test_probe_subset_keeps_one_mated_probe_per_person_and_samples_people_evenly() -> None:
    every = robustness.probe_subset(_split(), nonmated=10)
    assert [g for _, g in every.mated] == list(range(10)) and len(every.nonmated) == 10
    assert all(p.name == "1.jpg" for p, _ in every.mated)
    some = robustness.probe_subset(_split(), nonmated=10, mated=5)
    assert [g for _, g in some.mated] == [0, 2, 4, 6, 8]


def _result() -> dict[str, object]:
    def score(fnir: float) -> dict[str, object]:
        return {
            "rank1": 0.9,
            "refitted": {"fnir": fnir, "threshold": 0.5, "measured": True},
            "at_clean_threshold": {"threshold": 0.5, "fnir": fnir, "fpir": 0.01},
        }

    slices = [
        {"slice": s, "median_eye_px": px, "dlib": score(0.5), "faceres": score(0.4), "fused": score(0.3)}
        for s, px in (("clean", 41.0), ("eyes20", 20.0))
    ]
    return {"gallery_size": 1000, "mated_probes": 2, "nonmated_probes": 2, "fpir": 0.01, "slices": slices}


def test_the_report_has_a_per_network_robustness_section() -> None:
    lines = robustness_by_network_md(_result())
    assert "| slice | median eye distance (px) | dlib | faceres | fused |" in lines
    assert "| eyes20 | 20 | 50.00%; 50.00% / 1.00% | 40.00%; 40.00% / 1.00% | 30.00%; 30.00% / 1.00% |" in lines
    doc = {"dataset": "d", "date": "-", "machine": "-", "embedder": "dlib", "threshold": 0.5, "command": "c"}
    assert "## Robustness slices per network" in markdown(doc | {"robustness_by_network": _result()})


@pytest.mark.slow
def test_each_network_on_small_faces_of_an_lfw_sample() -> None:
    """20 mated and 20 non-mated LFW dev-train probes of the 1,000-people split, clean and at 20 px."""
    require_faceres()
    ids = load_identities(require_data(LFW))
    split = robustness.probe_subset(identification.make_split(ids, 1000), nonmated=20, mated=20)
    got = robustness.run_networks(split, load_fusion(), ("eyes20",), workers=2)
    assert [s["slice"] for s in got["slices"]] == ["clean", "eyes20"]  # clean first, always
    clean, small = got["slices"]
    assert small["median_eye_px"] == pytest.approx(20, abs=1) and clean["median_eye_px"] > 30
    for net in ("dlib", "faceres", "fused"):
        assert clean[net]["rank1"] >= 0.8, net
        assert clean[net]["at_clean_threshold"]["fpir"] <= 0.05
    json.dumps(got)


def test_robustness_cli_by_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from izde.cli.eval import app
    from izde.eval import suite

    monkeypatch.setattr(suite, "robustness_by_network", lambda *_: _result())
    r = CliRunner().invoke(app, ["robustness", "--networks", "--data", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["slices"][1]["slice"] == "eyes20"
