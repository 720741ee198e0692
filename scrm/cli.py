"""The `scrm` command: run the product, each of its roles, the embedded database and the demo."""

from __future__ import annotations

import json
import logging

import click
from rich.console import Console
from rich.table import Table

from scrm import __version__
from scrm.auth.commands import COMMANDS as ACCESS_COMMANDS
from scrm.channel_commands import channels
from scrm.command_context import load_settings, require_secret_key, start_embedded, with_development_key
from scrm.demo.commands import demo, load_demo_workspace
from scrm.embedded import EmbeddedMongo
from scrm.event_commands import events
from scrm.lazy_group import LazyGroup
from scrm.search_commands import inbox
from scrm.settings import Settings
from scrm.sync_command import sync
from scrm.team_commands import teams
from scrm.waiting_commands import backfill_waiting_command

console = Console(stderr=True)


def embedded(settings: Settings) -> EmbeddedMongo:
    """The embedded server living under SCRM_HOME."""
    return EmbeddedMongo(settings.home, settings.mongod_port)


def require_database(settings: Settings) -> None:
    """Roles run alone need a database: SCRM_MONGODB_URI, or the embedded one started by `scrm db start`."""
    if settings.mongodb_uri is None and embedded(settings).running_pid() is None:
        raise click.UsageError(
            "No database: set SCRM_MONGODB_URI to your MongoDB replica set, or run `scrm db start` first "
            "(or use `scrm up`, which runs every role on the embedded database)."
        )


def _extend_nlp(group: click.Command) -> None:
    """Add the NLP commands that need the database to the NLP package's own group."""
    from scrm.tagging_commands import corrections, retag

    assert isinstance(group, click.Group)
    group.add_command(corrections)
    group.add_command(retag)


@click.group(
    cls=LazyGroup,
    lazy={"nlp": "scrm.nlp.commands:nlp"},
    extend={"nlp": _extend_nlp},
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="scrm")
def main() -> None:
    """scrm — social CRM: unified inbox, journeys and campaigns over official social and messaging APIs."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


for _group in ACCESS_COMMANDS:
    main.add_command(_group)
main.add_command(events)
main.add_command(demo)
main.add_command(sync)
main.add_command(channels)
main.add_command(teams)
main.add_command(inbox)
inbox.add_command(backfill_waiting_command)


@main.command()
@click.option("--demo", is_flag=True, help="Load the demo workspace before serving (idempotent).")
def up(demo: bool) -> None:
    """Run everything in one process: web, API, webhooks, worker and scheduler, on the embedded MongoDB.

    Stops everything, the embedded mongod included, on Ctrl-C or SIGTERM.
    """
    from scrm.app import create_app
    from scrm.serving import serve, sigterm_as_interrupt

    settings = with_development_key(load_settings())
    server = embedded(settings)
    with sigterm_as_interrupt():
        try:
            if settings.embedded:
                start_embedded(server)
            if demo:
                load_demo_workspace(settings)
            _print_banner(settings, demo)
            serve(create_app(settings, webhooks=True, worker=True), settings.host, settings.port, settings.log_level)
        except KeyboardInterrupt:
            console.print("Stopping…")
        finally:
            if settings.embedded and server.stop():
                console.print("Embedded MongoDB stopped.")


@main.command("serve")
def serve_command() -> None:
    """Run the web UI and the API only (scale out: several of these behind a load balancer)."""
    from scrm.app import create_app
    from scrm.serving import serve

    settings = load_settings()
    require_database(settings)
    require_secret_key(settings)
    serve(create_app(settings), settings.host, settings.port, settings.log_level)


@main.command("webhooks")
def webhooks_command() -> None:
    """Run the webhook ingress only, on SCRM_WEBHOOKS_PORT (never loads spaCy)."""
    from scrm.serving import serve
    from webhooks.app import create_ingress_app

    settings = load_settings()
    require_database(settings)
    require_secret_key(settings)
    serve(create_ingress_app(settings), settings.host, settings.webhooks_port, settings.log_level)


@main.command("worker")
def worker_command() -> None:
    """Run the worker only: the scheduler's clock and every background job (run as many as needed)."""
    from scrm.serving import run_worker

    settings = load_settings()
    require_database(settings)
    require_secret_key(settings)
    console.print("Worker running; Ctrl-C or SIGTERM stops it.")
    run_worker(settings)


@main.group()
def db() -> None:
    """Manage the embedded MongoDB (the bundled mongod, as a single-node replica set)."""


@db.command("start")
def db_start() -> None:
    """Start the embedded MongoDB (or reuse it when it already runs) and wait until it is primary."""
    start_embedded(embedded(load_settings()))


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded MongoDB cleanly."""
    stopped = embedded(load_settings()).stop()
    console.print("Embedded MongoDB stopped." if stopped else "The embedded MongoDB was not running.")


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of a table.")
def db_status(as_json: bool) -> None:
    """Show whether the embedded MongoDB runs, its version, address and data folder."""
    settings = load_settings()
    status = embedded(settings).status()
    fields = {
        "running": status.running,
        "pid": status.pid,
        "version": status.version,
        "primary": status.primary,
        "uri": status.uri,
        "data_dir": str(status.data_dir),
        "in_use": settings.embedded,
    }
    if as_json:
        click.echo(json.dumps(fields))
        return
    table = Table(title="Embedded MongoDB", show_header=False)
    for key, value in fields.items():
        table.add_row(key, "" if value is None else str(value))
    Console().print(table)
    if not settings.embedded:
        console.print("SCRM_MONGODB_URI is set: scrm uses that server, not the embedded one.")


@main.command("settings")
def settings_command() -> None:
    """Show the settings in effect (secrets masked) and where each comes from."""
    table = Table("setting", "value", title="scrm settings (SCRM_* environment variables)")
    for key, value in load_settings().describe().items():
        table.add_row(f"SCRM_{key.upper()}", value)
    Console().print(table)


def _print_banner(settings: Settings, demo: bool) -> None:
    url = f"http://{settings.host}:{settings.port}"
    console.rule("scrm")
    console.print(f"Open {url}  ·  API docs {url}/api/v1/schema  ·  health {url}/health")
    console.print(f"Webhooks: {settings.public_url}/webhooks/<platform>/<channel_id>")
    if demo:
        from scrm.demo.commands import print_demo_logins

        console.print("The demo workspace is loaded. Ctrl-C stops scrm and its embedded MongoDB.")
        print_demo_logins(console)
