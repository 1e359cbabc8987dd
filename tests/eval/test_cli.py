"""The eval, threshold and bench command functions: output shapes and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from izde.cli import bench_eval
from izde.cli.eval import app as eval_app
from izde.cli.threshold import app as threshold_app
from izde.config import load_settings

runner = CliRunner()


def test_eval_missing_dataset_fails_with_a_hint(tmp_path: Path) -> None:
    r = runner.invoke(eval_app, ["verify", "--data", str(tmp_path / "nowhere"), "--json"])
    assert r.exit_code == 2
    text = " ".join(r.output.split())  # the console wraps long lines
    assert "does not exist" in text and "--data" in text


@pytest.mark.parametrize("descriptors", ['["dlib"]', '["dlib", "faceres"]'])
def test_threshold_show_json_with_built_in_calibration(descriptors: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IZDE_VISION__DESCRIPTORS", descriptors)
    r = runner.invoke(threshold_app, ["show", "--watchlist-size", "1000", "--target-rate", "10", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.strip().splitlines()[-1])
    # Each score has its shipped calibration: the one that measured the score izde matches by, so no warning.
    fused = "faceres" in descriptors
    assert out["calibration"] == f"built-in (lfw_devtrain_{'fused' if fused else 'dlib'}.json)"
    # (dlib's file predates fusion: a file naming no descriptors measured dlib's score.)
    assert out["calibration_source"].get("descriptors", ["dlib"]) == (["dlib", "faceres"] if fused else ["dlib"])
    assert "warning" not in out
    (row,) = out["results"]
    default = load_settings().match.threshold
    assert row["threshold"] == default and row["watchlist_size"] == 1000
    assert row["false_alerts_per_10000_faces"] > 0
    assert row["target"]["threshold"] < default or row["false_alerts_per_10000_faces"] <= 10


def test_threshold_show_warns_when_the_calibration_measured_another_score(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import resources

    from izde.eval import calibration

    dlib_file = tmp_path / "dlib.json"
    shipped = resources.files("izde.eval").joinpath("data", calibration.DEFAULT_RESOURCE)
    dlib_file.write_text(shipped.read_text(encoding="utf-8"))
    monkeypatch.setenv("IZDE_VISION__DESCRIPTORS", '["dlib", "faceres"]')
    r = runner.invoke(threshold_app, ["show", "-n", "100", "--calibration", str(dlib_file), "--json"])
    assert r.exit_code == 0, r.output
    assert "dlib score" in json.loads(r.stdout.strip().splitlines()[-1])["warning"]


def test_threshold_show_table_and_bad_calibration(tmp_path: Path) -> None:
    r = runner.invoke(threshold_app, ["show", "--threshold", "0.45"])
    assert r.exit_code == 0 and "10,000" in r.output
    bad = tmp_path / "cal.json"
    bad.write_text("{}")
    r = runner.invoke(threshold_app, ["show", "--calibration", str(bad)])
    assert r.exit_code == 2 and "not an izde calibration file" in " ".join(r.output.split())


def test_bench_search_small(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("search")(bench_eval.search)
    app.command("other")(lambda: None)  # two commands, so 'search' is addressed by name as under 'izde bench'
    out = tmp_path / "s.json"
    r = runner.invoke(
        app,
        ["search", "-n", "2000", "--method", "numpy", "--method", "faiss-hnsw", "--probes", "20", "--out", str(out)],
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(out.read_text())["rows"]
    assert {r["method"] for r in rows} == {"numpy", "faiss-hnsw"}
    assert all(r["recall_at_1"] >= 0.9 for r in rows)
