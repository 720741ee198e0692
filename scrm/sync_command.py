"""`scrm sync <channel_id> [--full]`: pull a channel's history from its platform, then only what is new."""

from __future__ import annotations

import click
import httpx
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from scrm.command_context import run_with_database
from scrm.connectors.errors import UnknownPlatform
from scrm.connectors.ratelimit import ChannelBuckets, SystemClock
from scrm.pulling import StreamResult, SyncResult
from scrm.settings import Settings
from scrm.sync import ChannelBusy, UnknownChannel, sync_now


class ProgressObserver:
    """Shows a pull as it goes: one progress line per stream counting the items pulled, and every long wait."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def stream_started(self, stream: str) -> None:
        """Add the stream's progress line."""
        self.tasks[stream] = self.progress.add_task(stream, total=None)

    def items_pulled(self, stream: str, total: int) -> None:
        """Move the stream's count on."""
        self.progress.update(self.tasks[stream], completed=total)

    def waiting(self, seconds: float) -> None:
        """Say why the pull stands still."""
        self.progress.console.print(
            f"[yellow]Waiting {seconds:.0f} s: the platform asked us to slow down, or a failed call is retried…"
        )

    def stream_finished(self, result: StreamResult) -> None:
        """Close the stream's line, saying why it stopped when it did not reach its end."""
        task = self.tasks.get(result.stream)
        if task is not None:
            self.progress.update(task, total=result.pulled, completed=result.pulled)
        if result.skipped or result.failed:
            colour = "yellow" if result.skipped else "red"
            self.progress.console.print(f"[{colour}]{result.stream}: {result.skipped or result.failed}")


@click.command("sync")
@click.argument("channel_id")
@click.option("--full", is_flag=True, help="Ignore the saved cursors and pull everything the platform still holds.")
def sync(channel_id: str, full: bool) -> None:
    """Pull a channel from its platform's API: its history first, then only what is new since the last run.

    Safe to run again (nothing is recorded twice) and to interrupt (the next run resumes where this one
    stopped). Exits with status 1 when a stream stopped early (run again later), or when the platform refused
    the channel's credentials; the channel is then marked unhealthy with the reason.
    """
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} pulled"))
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True)) as progress:
        observer = ProgressObserver(progress)
        try:
            result = run_with_database(lambda settings: _pull(settings, channel_id, full, observer))
        except (UnknownChannel, UnknownPlatform, ChannelBusy) as exc:
            raise click.ClickException(str(exc)) from None
    _print_summary(result)
    if result.unhealthy:
        raise click.ClickException(f"The channel is now marked unhealthy: {result.unhealthy}")
    stopped = [stream.stream for stream in result.streams if stream.failed]
    if stopped:
        raise click.ClickException(f"Stopped early: {', '.join(stopped)}. Run `scrm sync` again later to resume.")


async def _pull(settings: Settings, channel_id: str, full: bool, observer: ProgressObserver) -> SyncResult:
    from scrm.worker import pipeline_context

    context = pipeline_context(settings)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0)) as http:
        buckets = ChannelBuckets(SystemClock())
        return await sync_now(context, http, channel_id, buckets=buckets, full=full, observer=observer)


def _print_summary(result: SyncResult) -> None:
    table = Table("stream", "pulled", "new", "cursor", "note", title=f"{result.platform} channel {result.channel_id}")
    for stream in result.streams:
        cursor = "" if stream.cursor is None else str(stream.cursor)
        note = stream.skipped or stream.failed or "done"
        table.add_row(stream.stream, str(stream.pulled), str(stream.new), cursor, note)
    console = Console()
    console.print(table)
    pulled, new = sum(s.pulled for s in result.streams), sum(s.new for s in result.streams)
    if not result.streams:
        console.print(f"The {result.platform} connector has nothing to pull: its items arrive by webhook only.")
    console.print(f"Pulled {pulled} items, {new} of them new.")
