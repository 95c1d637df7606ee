"""Where jobs run, the process looks for incidents every minute; where they do not, it does not."""

from __future__ import annotations

from pathlib import Path

from shahr import bootstrap
from shahr.incidents import jobs
from shahr.incidents.services import INCIDENTS
from shahr.kernel.schedule import Every
from shahr.kernel.settings import Settings


def _detection_jobs(container: bootstrap.Container) -> list[Every]:
    return [
        part
        for part in container.background
        if isinstance(part, Every) and part.name == "incidents-detect"
    ]


def test_the_process_that_runs_jobs_detects_incidents_every_minute(tmp_path: Path) -> None:
    container = bootstrap.build(Settings(var_dir=tmp_path, run_jobs=True, run_simulators=False))

    (job,) = _detection_jobs(container)
    assert job.every_s == jobs.DETECT_EVERY_S == 60.0
    ports = container.get(INCIDENTS)
    assert ports.roads is not None
    assert ports.detectors is not None
    assert ports.cameras is not None


def test_a_process_without_jobs_leaves_detection_to_the_one_that_has_them(tmp_path: Path) -> None:
    container = bootstrap.build(Settings(var_dir=tmp_path, run_jobs=False, run_simulators=False))

    assert _detection_jobs(container) == []
