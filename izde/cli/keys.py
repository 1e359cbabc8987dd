"""``izde keys``: the master key that encrypts photos, evidence and templates at rest (administrators)."""

from __future__ import annotations

import secrets
from dataclasses import asdict

import typer
from rich.console import Console

from izde.cli.common import err_console, open_izde, print_json, user_errors
from izde.store.crypto import KEY_BYTES, new_key_id

app = typer.Typer(help="The data key: where it is, rotating it.", no_args_is_help=True)
out = Console(soft_wrap=True)


@app.command("show")
def show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Where the master keys come from, which is current, and how many stored objects each wraps."""
    with user_errors(), open_izde(ctx) as izde:
        status = izde.data_key_status()
    if as_json:
        print_json(asdict(status))
        return
    out.print(f"master keys from {status.source}; current {status.current}")
    for key_id in status.key_ids or (status.current,):
        out.print(f"  {key_id}: {status.objects_by_key.get(key_id, 0)} objects")


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    keep_old: bool = typer.Option(False, "--keep-old", help="Keep the previous keys in the key ring."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Make a new master key and re-wrap every object's data key with it (the data is not re-encrypted), then
    remove the old keys. Stop 'izde serve' and workers first. With IZDE_DATA_KEY, put the new 'id:hex' first
    (see 'izde keys new'), run this, then drop the old one from the variable."""
    with user_errors(), open_izde(ctx) as izde:
        report = izde.rotate_keys(keep_old=keep_old)
    if as_json:
        print_json(asdict(report))
        return
    err_console.print(
        f"master key {report.previous} -> {report.current}: re-wrapped {report.files_rewrapped} files and "
        f"{report.templates_rewrapped} templates; retired {', '.join(report.retired) or 'no keys'}"
    )


@app.command("new")
def new() -> None:
    """Print a new random master key as 'id:hex', for IZDE_DATA_KEY or a key-management service."""
    print(f"{new_key_id()}:{secrets.token_hex(KEY_BYTES)}")
