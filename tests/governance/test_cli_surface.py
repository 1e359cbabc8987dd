"""The ``izde`` command as a whole: every command on personal data needs a login, and none crosses the lines
the project does not cross (attribute inference, clustering of unknown faces, automatic enrolment)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

import izde
from izde.api import Izde
from izde.cli.main import app
from tests.cli.helpers import Deployment
from tests.cli.helpers import izde as run_izde
from tests.conftest import HAMILTON, require_data

# Commands that do not read or change personal data: setting up, logging in and out, the settings in force,
# model files and benchmarks on the shared test data.
NO_PERSONAL_DATA = {
    "init",
    "login",
    "logout",
    "whoami",
    "config show",
    "models build",
    "models info",
    "bench pipeline",
    "bench inference",
    "bench search",
    "bench stages",
    "bench capacity",
    "bench cameras",
    "bench mmod-int8",
    # Accuracy evaluation on a public research dataset, never on the watchlist or on camera footage.
    "eval verify",
    "eval identify",
    "eval strategies",
    "eval robustness",
    "eval calibrate",
    "eval report",
    "eval fusion",
    "threshold show",  # a number and its meaning, from calibration data
    "demo",  # sets up its own deployment and acts through the same checks as each of its users
    "serve",  # starts the server; every route checks the logged-in user itself (tests/web)
    "keys new",  # prints a random key for IZDE_DATA_KEY; reads nothing stored
    "bench fleet",  # sets up its own deployments in a temporary folder, on the shared test data
    "bench search-archive",  # likewise: its own deployments and an archive of copies of the shared clips
    # Fleet processes: a worker has no database and gets a session's gallery only from the servers; a recorder
    # writes what workers report, as the system, like serve. Both are gated by their broker credentials.
    "worker",
    "recorder",
}


def commands() -> Iterator[tuple[str, Any]]:
    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*path, name])
        else:
            yield " ".join(path), cmd

    yield from walk(typer.main.get_command(app), [])


def required_args(cmd: Any, tmp: Path) -> list[str]:
    """Valid-looking values for every required parameter, so that only the login can be missing."""
    (tmp / "frames").mkdir(exist_ok=True)
    photo = str(require_data(HAMILTON / "obama.jpg"))
    values = {
        "source": str(tmp / "frames"),
        "photo": photo,
        "category": "wanted",
        "provenance": "official_record",
        "expires": "2099-01-01",
        "objective": "missing_person",
        "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-02-01T00:00:00+00:00",
        "role": "operator",
        "out": str(tmp / "out.jpg"),
        "since": "2026-01-01",
        "until": "2026-12-31",
    }
    args: list[str] = []
    for p in cmd.params:
        if not p.required:
            continue
        value = values.get(p.name, "0000000000")
        if p.opts[0].startswith("-"):
            args += [p.opts[0]] if getattr(p, "is_flag", False) else [p.opts[0], value]
        else:
            args.append(value)
    return args


PERSONAL = sorted(name for name, _ in commands() if name not in NO_PERSONAL_DATA)


def test_every_command_is_classified() -> None:
    names = {name for name, _ in commands()}
    assert names >= NO_PERSONAL_DATA, NO_PERSONAL_DATA - names
    # The commands on personal data that exist today; a new one is caught by the login test below.
    assert {"watch", "watchlist add", "auth grant", "alerts confirm", "alerts export", "users add"} <= set(PERSONAL)
    # User accounts are personal data too: only a logged-in administrator lists or changes them.
    assert {"users list", "users disable", "users enable", "users roles", "users reset-password"} <= set(PERSONAL)


@pytest.mark.parametrize("name", PERSONAL)
def test_command_refuses_without_login(name: str, deployment: Deployment, tmp_path: Path) -> None:
    cmd = dict(commands())[name]
    extra = ["--recorded"] if name == "auth request" else []  # one of --live/--recorded is needed to be valid
    r = run_izde(deployment.home, *name.split(), *required_args(cmd, tmp_path), *extra)
    assert r.exit_code == 5, (r.exit_code, r.stdout, r.stderr)
    assert "not logged in" in r.stderr
    assert r.stdout == ""


# Words for what izde never does. Whole words, so that "image", "stage" or "trace" do not count.
FORBIDDEN = re.compile(
    r"\b(emotions?|emotional|affect|mood|race|racial|ethnicity|ethnic|gender|sex|age|ages|age_estimation|"
    r"estimate_age|demographics?|attributes?|cluster|clusters|clustering|auto[-_ ]?enrol\w*|"
    r"enrol_unknown|unknown_faces?)\b",
    re.IGNORECASE,
)


def _words(text: str) -> str:
    return re.sub(r"[_-]", " ", text)


def cli_texts() -> Iterator[tuple[str, str]]:
    root = typer.main.get_command(app)
    yield "izde", root.help or ""
    for group_name, group in getattr(root, "commands", {}).items():
        yield group_name, getattr(group, "help", None) or ""
    for name, cmd in commands():
        yield name, name
        yield name, cmd.help or ""
        for p in cmd.params:
            yield f"{name} {p.name}", " ".join([p.name or "", *p.opts, getattr(p, "help", None) or ""])


def api_texts() -> Iterator[tuple[str, str]]:
    for name, member in inspect.getmembers(Izde):
        if name.startswith("__"):
            continue
        yield f"Izde.{name}", name
        if inspect.isfunction(member):
            yield f"Izde.{name}", " ".join(inspect.signature(member).parameters)
            yield f"Izde.{name}.__doc__", inspect.getdoc(member) or ""
    # Every public name in the package: no module, class or function for what izde must not do.
    for info in pkgutil.walk_packages(izde.__path__, "izde."):
        yield info.name, info.name
        module = importlib.import_module(info.name)
        for attr in dir(module):
            if not attr.startswith("_"):
                yield f"{info.name}.{attr}", attr


@pytest.mark.parametrize("source", [cli_texts, api_texts], ids=["cli", "python-api"])
def test_no_attribute_inference_clustering_or_auto_enrolment(source: Any) -> None:
    hits = [(where, m.group(0)) for where, text in source() for m in [FORBIDDEN.search(_words(text))] if m]
    assert hits == []


def test_the_forbidden_words_are_recognised() -> None:
    """The check above must be able to fail."""
    for text in ("estimate_age", "cluster_unknown_faces", "auto-enrol", "autoenrol_tracks", "predict emotion"):
        assert FORBIDDEN.search(_words(text)), text
    for text in ("image", "stage", "leave no trace", "message", "average", "usage"):
        assert not FORBIDDEN.search(_words(text)), text
