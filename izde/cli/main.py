"""The ``izde`` command: watchlist, watch, alerts, benchmarks and models."""

from __future__ import annotations

from pathlib import Path

import typer

from izde.cli import (
    account,
    alerts,
    audit,
    authorisation,
    bench,
    bench_eval,
    cameras,
    demo,
    models,
    purge,
    report,
    risk,
    serve,
    threshold,
    threshold_change,
    users,
    watch,
    watchlist,
)
from izde.cli import eval as eval_cli
from izde.cli.common import GlobalOptions, print_json, settings, setup_logging, user_errors
from izde.eval.bench_inference import bench_inference
from izde.redact import redact_tree

app = typer.Typer(
    name="izde",
    help=(
        "izde finds specific wanted and missing persons in CCTV video and forgets everyone else. "
        "Faces that match nobody on the watchlist leave no trace; every match is a candidate for human review."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    home: Path | None = typer.Option(
        None, "--home", envvar="IZDE_HOME", help="Data directory (database, photos, evidence).", show_default=False
    ),
    config: Path | None = typer.Option(
        None, "--config", envvar="IZDE_CONFIG", help="YAML settings file (default: HOME/config.yaml)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging on stderr."),
) -> None:
    setup_logging(verbose)
    ctx.obj = GlobalOptions(home=home, config=config)


app.command("demo")(demo.demo)
app.command("init")(account.init)
app.command("login")(account.login)
app.command("logout")(account.logout)
app.command("whoami")(account.whoami)
app.add_typer(users.app, name="users")
app.add_typer(cameras.app, name="cameras")
app.add_typer(watchlist.app, name="watchlist")
app.add_typer(authorisation.app, name="auth")
app.add_typer(alerts.app, name="alerts")
app.add_typer(audit.app, name="audit")
app.add_typer(report.app, name="report")
app.add_typer(risk.app, name="risk")
app.command("purge")(purge.purge)
threshold_app = threshold.app  # 'show' (operational terms) plus the changes that need a second person
app.add_typer(threshold_app, name="threshold")
app.add_typer(eval_cli.app, name="eval")
threshold_app.command("propose")(threshold_change.propose)
threshold_app.command("approve")(threshold_change.approve)
threshold_app.command("reject")(threshold_change.reject)
threshold_app.command("history")(threshold_change.history)
app.command("watch")(watch.watch)
app.command("serve")(serve.serve)
app.add_typer(bench.app, name="bench")

config_app = typer.Typer(help="Show the settings in force.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the settings in force (defaults, config file, IZDE_* environment) as JSON, credentials masked."""
    with user_errors():
        print_json(redact_tree(settings(ctx).model_dump(mode="json")))


app.add_typer(models.app, name="models")
bench.app.command("inference")(bench_inference)
bench.app.command("search")(bench_eval.search)
bench.app.command("stages")(bench_eval.stages)
bench.app.command("capacity")(bench_eval.capacity)


def main() -> None:
    app()
