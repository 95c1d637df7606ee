"""`shahr simulate traffic`: the twin against the configured stream, with a progress bar."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from shahr.demo.twin.feed import (
    Outgoing,
    Pace,
    SpanSource,
    messages_of,
    open_source,
    publish,
    seed_twin_network,
    tehran_midnight,
)
from shahr.demo.twin.replay import write_recording
from shahr.demo.twin.run import Span
from shahr.kernel.clock import SystemClock
from shahr.kernel.settings import Settings

if TYPE_CHECKING:
    from shahr.bootstrap import Container


def parse_start(text: str | None) -> datetime:
    """An ISO date-time (Tehran time when it names no zone), or now."""
    if not text:
        return SystemClock().now()
    from shahr.kernel.clock import TEHRAN

    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=TEHRAN)


def _windows(source: SpanSource, start: datetime, hours: float) -> list[tuple[datetime, int, int]]:
    total_s = int(hours * 3600)
    windows = []
    covered = 0
    for day_start, begin, end in source.spans(start, first_span_s=3600, span_s=3600):
        if covered >= total_s:
            break
        end = min(end, begin + total_s - covered)
        windows.append((day_start, begin, end))
        covered += end - begin
    return windows


def simulate_traffic(
    settings: Settings,
    *,
    hours: float,
    speed: float,
    replay: bool,
    start: str | None,
    record: Path | None,
) -> None:
    from rich.progress import Progress  # only the long commands draw a progress bar

    source = open_source(
        "replay" if replay else "sumo", work_dir=settings.var_dir / "twin" / "demo"
    )
    moment = parse_start(start)
    if record is not None and start is None:
        moment = tehran_midnight(moment)
    windows = _windows(source, moment, hours)
    total_s = sum(end - begin for _, begin, end in windows)
    what = "SUMO" if source.uses_sumo else "the recorded replay"

    if record is not None:
        spans: list[Span] = []
        with Progress() as progress:
            task = progress.add_task(f"Simulating with {what}", total=total_s)
            for window in windows:
                spans.append(source.compute(*window))
                progress.advance(task, window[2] - window[1])
        readings, passages = write_recording(
            record, source.scenario, spans, day_start=windows[0][0]
        )
        typer.echo(f"recorded {readings} readings and {passages} passages into {record}")
        return

    if speed > 1:
        typer.echo(
            "note: at --speed above 1 readings run ahead of the clock; a live platform"
            " refuses those more than 2 minutes ahead (`future`).",
            err=True,
        )
    asyncio.run(_publish(settings, source, windows, total_s=total_s, speed=speed, what=what))


async def _publish(
    settings: Settings,
    source: SpanSource,
    windows: list[tuple[datetime, int, int]],
    *,
    total_s: int,
    speed: float,
    what: str,
) -> None:
    from rich.progress import Progress

    from shahr import bootstrap

    # Without a shared stream (no SHAHR_NATS_URL) nobody else would read what this process
    # publishes, so it runs the platform's consumers and jobs itself.
    embedded = not settings.nats_url
    container = bootstrap.build(settings.model_copy(update={"demo": False}))
    await seed_twin_network(container.database, source.scenario)
    await (container.start() if embedded else container.stream.start())
    sent = 0
    try:
        clock = container.clock
        first_day, first_begin, _ = windows[0]
        sim_start = first_day + timedelta(seconds=first_begin)
        pace = Pace(clock, speed=speed, sim_anchor=sim_start) if speed > 0 else None
        with Progress() as progress:
            task = progress.add_task(f"Publishing {what}", total=total_s)
            upcoming = asyncio.create_task(asyncio.to_thread(source.compute, *windows[0]))
            for index in range(len(windows)):
                span = await upcoming
                if index + 1 < len(windows):
                    upcoming = asyncio.create_task(
                        asyncio.to_thread(source.compute, *windows[index + 1])
                    )

                def advance(message: Outgoing) -> None:
                    done = (message.observed_at - sim_start).total_seconds()
                    progress.update(task, completed=min(max(done, 0), total_s))

                sent += await publish(
                    container.stream,
                    messages_of(span, city=settings.city),
                    pace=pace,
                    on_sent=advance,
                )
            progress.update(task, completed=total_s)
        if embedded:
            await container.stream.drain()
    finally:
        await (container.stop() if embedded else _stop_stream(container))
    typer.echo(f"published {sent} messages on shahr.{settings.city}.sensors.traffic.>")


async def _stop_stream(container: Container) -> None:
    await container.stream.stop()
    await container.database.dispose()
