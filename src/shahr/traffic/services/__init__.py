"""Traffic's use cases: the road network, the detector registry, ingest, state, history.

The contracts other code relies on (the SUMO digital twin in `shahr.demo` among them); they
stay stable, and docs/traffic-feeds.md describes the stream payloads in full.

Stream subjects and payloads (JSON, UTF-8; `observed_at` ISO-8601 UTC, the END of the count
period)::

    shahr.<city>.sensors.traffic.detectors.<detector_id>
        {"detector_id": str, "observed_at": str, "period_s": int, "count": int,
         "occupancy_pct": float, "speed_kmh": float | null}
    shahr.<city>.sensors.traffic.detectors.batch
        {"readings": [<reading as above>, ...]}            # the throughput path
    shahr.<city>.sensors.traffic.cameras.<camera_id>
        {"camera_id": str, "observed_at": str, "plate": str, "lane": int | null}
    shahr.<city>.sensors.traffic.cameras.batch
        {"passages": [<passage as above>, ...]}

`plate` is the canonical plate as the camera reads it (`shahr.kernel.plates`); ingest keeps
only a keyed hash that changes every day (docs/decisions/0012-traffic-state.md).
`shahr.traffic.domain.readings` has `DetectorReading.to_payload()`,
`PlatePassage.to_payload()` and `batch_payload(...)`; `shahr.traffic.ingest` has
`reading_subject(city, detector_id)`, `passage_subject(city, camera_id)`,
`readings_batch_subject(city)` and `passages_batch_subject(city)`.

Python::

    await import_road_network(database, segments=[SegmentSpec(...), ...], source="sumo")
        -> NetworkImportReport        # SegmentSpec in shahr.traffic.domain; id = SUMO edge id ok
    await register_detectors(database, detectors=[DetectorSpec(...), ...]) -> int
        # each add, move or kind change kept in traffic_detector_change (by="system")
    inventory.import_detectors(database, clock, rows=[(row, {column: value}), ...], source=...,
                               by=...) -> DetectorImportReport   # a city's file, all or none
    inventory.place_detector(...), inventory.retire_detector(...)  # the staff screen's edits
    cameras.import_cameras(...), cameras.save_camera(...), cameras.retire_camera(...)
    shahr.traffic.queries.cameras.nearest_cameras(database, lon, lat, *, limit=3,
                                                  within_m=1500) -> list[CameraNearby]
    await ingest_batch(database, clock, payloads: Sequence[bytes], *, backfill=False,
                       plate_secret="") -> IngestReport
        # what the stream consumer calls for each message; no stream needed in tests;
        # idempotent: the same payloads twice change nothing the second time.
    await finalise_intervals(database, clock) -> FinaliseReport
        # estimates for unmonitored segments, journey times, detector health (a job).
    shahr.traffic.queries.segment_states(database, *, at=None) -> list[SegmentStateView]
        # per segment for the latest interval (or the one holding `at`): flow_veh_h,
        # speed_kmh, occupancy_pct, density_veh_km, vc_ratio, los, congestion_level,
        # confidence, estimated (bool), source; unmonitored segments estimated on the fly.
"""

from __future__ import annotations

from shahr.traffic.services.history import (
    BackfillReport,
    RollupReport,
    backfill_readings,
    prune,
    roll_up,
)
from shahr.traffic.services.ingest import ingest_batch
from shahr.traffic.services.ingest_report import IngestReport
from shahr.traffic.services.intervals import FinaliseReport, finalise_intervals, judge_health
from shahr.traffic.services.network import (
    NetworkImportReport,
    import_road_network,
    register_detectors,
    set_segment_capacity,
)

__all__ = [
    "BackfillReport",
    "FinaliseReport",
    "IngestReport",
    "NetworkImportReport",
    "RollupReport",
    "backfill_readings",
    "finalise_intervals",
    "import_road_network",
    "ingest_batch",
    "judge_health",
    "prune",
    "register_detectors",
    "roll_up",
    "set_segment_capacity",
]
