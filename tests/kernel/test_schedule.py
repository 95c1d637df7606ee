"""A scheduled job repeats until stopped, and survives a failing run."""

from __future__ import annotations

import asyncio

from shahr.kernel.schedule import Every


async def test_a_job_runs_again_after_a_failed_run_and_stops_when_told() -> None:
    runs: list[int] = []

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("the first run fails")

    every = Every("probe", 0.01, job)
    await every.start()
    for _ in range(200):
        if len(runs) >= 3:
            break
        await asyncio.sleep(0.01)
    await every.stop()
    count = len(runs)
    await asyncio.sleep(0.05)
    assert count >= 3
    assert len(runs) == count
