from pathlib import Path

import pytest

from izde.config import load_settings
from izde.errors import ConfigError


def test_defaults_then_file_then_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The default matches by the fused score, at its default threshold.
    assert load_settings().vision.descriptors == ("dlib", "faceres")
    assert load_settings().match.threshold == pytest.approx(0.486)
    (home / "config.yaml").write_text("match:\n  threshold: 0.5\npipeline:\n  analysis_fps: 3\n")
    s = load_settings()
    assert (s.match.threshold, s.pipeline.analysis_fps) == (0.5, 3.0)
    monkeypatch.setenv("IZDE_MATCH__THRESHOLD", "0.45")
    s = load_settings()
    assert (s.match.threshold, s.pipeline.analysis_fps) == (0.45, 3.0)
    assert load_settings(match={"threshold": 0.4}).match.threshold == 0.4


@pytest.mark.parametrize(
    ("text", "descriptors", "threshold"),
    [
        ("", ("dlib", "faceres"), 0.486),  # the fused score's default threshold
        ("vision:\n  descriptors: [dlib]\n", ("dlib",), 0.50),  # dlib's alone: dlib's default
        ("vision:\n  descriptors: [dlib]\nmatch:\n  threshold: 0.45\n", ("dlib",), 0.45),
        ("vision:\n  descriptors: [dlib, faceres]\nmatch:\n  threshold: 0.47\n", ("dlib", "faceres"), 0.47),
    ],
)
def test_the_default_threshold_follows_the_descriptors(
    home: Path, text: str, descriptors: tuple[str, ...], threshold: float
) -> None:
    (home / "config.yaml").write_text(text)
    s = load_settings()
    assert (s.vision.descriptors, s.match.threshold) == (descriptors, threshold)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus: 1\n", "Extra inputs are not permitted"),
        ("match:\n  threshold: 7\n", "less than 2"),
        ("vision:\n  descriptors: [faceres]\n", "vision.descriptors"),  # dlib's finds and aligns the faces
        ("vision:\n  descriptors: [dlib, dlib]\n", "vision.descriptors"),
        ("pipeline:\n  analysis_fps: -1\n", "greater than 0"),
        ("- a list\n", "must hold a mapping"),
        ("match: [unclosed\n", "cannot read configuration file"),
        ("retention:\n  audit_log_days: 30\n", "greater than or equal to 183"),
    ],
)
def test_bad_configuration_is_refused(home: Path, text: str, message: str) -> None:
    (home / "config.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_file=tmp_path / "nope.yaml")


def test_detector_upsample_defaults() -> None:
    assert load_settings().vision.detector == "blazeface"  # which scales instead (vision.blazeface_scale)
    assert load_settings(vision={"detector": "hog"}).vision.detector_upsample == 1
    assert load_settings(vision={"detector": "mmod"}).vision.detector_upsample == 0
    assert load_settings(vision={"detector": "mmod", "upsample": 2}).vision.detector_upsample == 2


def test_login_limit_settings_moved_to_security_and_old_places_still_work(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limit moved from the web server into the service; files and environments written before keep working.
    assert (load_settings().security.login_attempts, load_settings().security.login_window_s) == (5, 300.0)
    (home / "config.yaml").write_text("web:\n  login_attempts: 7\n  port: 9000\n")
    s = load_settings()
    assert (s.security.login_attempts, s.web.port) == (7, 9000)
    assert "login_attempts" not in s.web.model_dump()
    monkeypatch.setenv("IZDE_WEB__LOGIN_WINDOW_S", "60")
    assert load_settings().security.login_window_s == 60.0
    monkeypatch.setenv("IZDE_SECURITY__LOGIN_ATTEMPTS", "9")
    assert load_settings().security.login_attempts == 9  # the new place wins
    (home / "config.yaml").write_text("web:\n  login_attemps: 7\n")
    with pytest.raises(ConfigError, match="Extra inputs are not permitted"):
        load_settings()
