"""``izde bench capacity``: both paths measured side by side on a real clip, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from izde.cli.main import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_capacity_reports_the_full_frame_and_gated_paths_side_by_side(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "capacity.json"
    args = ["bench", "capacity", "--data", str(data_dir), "--clip", "hamilton", "--also", "busy_scan=coarse"]
    args += ["--also", "threads=2"]
    r = runner.invoke(app, [*args, "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    m = json.loads(out.read_text())["measured"]
    (clip,) = m["clips"].values()
    paths = clip["paths"]
    assert list(paths) == ["full-frame", "gated", "gated busy_scan=coarse", "gated threads=2"]
    assert m["settings"]["threads"]["gated threads=2"] == 2
    # Detection on two threads finds what one finds.
    assert {k: paths["gated threads=2"][k] for k in ("faces", "tracks", "alerts")} == {
        k: paths["gated"][k] for k in ("faces", "tracks", "alerts")
    }
    for p in paths.values():
        assert p["cpu_s"] > 0 and p["cameras"] == pytest.approx(m["cores"] / p["cpu_s_per_camera_second"])
        assert p["alerts"] == 1 and p["persons"] == ["lin-manuel-miranda"]
    # His tracks are described by both networks; the audience's, far from him by dlib's distance, are not.
    assert 0 < paths["gated"]["descriptors_fused"] < paths["gated"]["descriptors"]
    assert m["watchlist"] == 1
    assert paths["full-frame"]["pixels_detected_per_frame"] == 1.0
    assert paths["gated"]["pixels_detected_per_frame"] < 1.0
    assert len(m["load_average"]["start"]) == 3

    bad = runner.invoke(app, ["bench", "capacity", "--data", str(data_dir), "--also", "nonsense"])
    assert bad.exit_code != 0 and "KEY=VALUE" in " ".join(bad.output.split())


def test_a_longer_watchlist_is_drawn_from_lfw_and_still_finds_him(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "capacity.json"
    args = ["bench", "capacity", "--data", str(data_dir), "--clip", "hamilton", "--people", "12"]
    r = runner.invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "12 on the watchlist" in " ".join(r.output.split())
    m = json.loads(out.read_text())["measured"]
    assert m["watchlist"] == 12
    for p in next(iter(m["clips"].values()))["paths"].values():
        assert p["persons"] == ["lin-manuel-miranda"] and p["alerts"] == 1
        assert 0 < p["descriptors_fused"] <= p["descriptors"]
