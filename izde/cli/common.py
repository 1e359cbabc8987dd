"""What every command shares: the settings from global options, JSON output, errors and progress."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from izde.config import Settings, load_settings
from izde.errors import IzdeError
from izde.redact import install_log_redaction

if TYPE_CHECKING:
    from izde.api import Izde

err_console = Console(stderr=True, soft_wrap=True)  # long paths stay on one line, greppable


@dataclass
class GlobalOptions:
    home: Path | None = None
    config: Path | None = None


def options(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, GlobalOptions) else GlobalOptions()


def settings(ctx: typer.Context, **overrides: Any) -> Settings:
    opts = options(ctx)
    return load_settings(home=opts.home, config_file=opts.config, **overrides)


def open_izde(
    ctx: typer.Context,
    *,
    as_user: bool = True,
    adjust: Callable[[Settings], Settings] | None = None,
    **overrides: Any,
) -> Izde:
    """The service for this command, acting as the user whose token ``izde login`` saved (or IZDE_TOKEN);
    ``as_user=False`` for the commands that need nobody logged in (init, login), which a stale token must not
    break. ``adjust``: the command's own defaults, applied to the loaded settings (an override would hide
    what the user set)."""
    from izde.api import Izde
    from izde.service.core import token_from_environment

    loaded = settings(ctx, **overrides)
    izde = Izde(adjust(loaded) if adjust is not None else loaded)
    token = token_from_environment(izde.settings) if as_user else None
    if token:
        izde.use_token(token)
    return izde


def _default(o: object) -> object:
    if isinstance(o, datetime | date):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def print_json(value: object) -> None:
    """One JSON document per line on stdout (progress and logs go to stderr)."""
    sys.stdout.write(json.dumps(value, default=_default, ensure_ascii=False) + "\n")
    sys.stdout.flush()


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn izde's errors into a clear message on stderr and the error's exit status."""
    try:
        yield
    except IzdeError as e:
        err_console.print(f"[bold red]error:[/] {e.message}", highlight=False)
        if e.hint:
            err_console.print(f"[yellow]hint:[/] {e.hint}", highlight=False)
        raise typer.Exit(e.exit_code) from None


def setup_logging(verbose: bool) -> None:
    # OpenCV's FFmpeg layer prints connection chatter for every retry; izde reports failures itself.
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    install_log_redaction()
    if not verbose:
        # Schema upgrades are routine; say nothing about them unless asked.
        logging.getLogger("alembic").setLevel(logging.WARNING)
